// The live panel of the console's practitioner and client pages. It is an API client
// like any app: a short-lived token from /console/token, the JSON API for actions, the
// WebSocket for events and chat. On load it recovers the user's open session from the
// server, so a reload never orphans one.
"use strict";

(function () {
  const panel = document.getElementById("live");
  if (!panel) return;
  const csrf = document.body.dataset.csrf || "";
  const role = panel.dataset.role;
  const me = panel.dataset.me;
  const $ = (id) => document.getElementById(id);
  let token = null;
  let ws = null;
  let current = null; // the consultation on screen
  let seq = 0;
  const shown = new Set();
  const reviewed = new Set();

  const REASONS = {
    client_ended: "ended by the client",
    practitioner_ended: "ended by the practitioner",
    insufficient_funds: "the wallet ran out",
    client_gone: "the client left",
    practitioner_gone: "the practitioner left",
    max_duration: "the longest allowed session was reached",
    service_interrupted: "the service was interrupted",
    declined: "declined by the practitioner",
    missed: "not answered in time",
    cancelled: "cancelled by the client",
  };
  const words = (code) => REASONS[code] || String(code || "").replace(/_/g, " ");

  // ₹1,23,456.78 from integer minor units, without floating point.
  function money(minor, currency) {
    const sign = minor < 0 ? "-" : "";
    const abs = Math.abs(minor);
    const whole = Math.floor(abs / 100);
    const cents = String(abs % 100).padStart(2, "0");
    const grouped = new Intl.NumberFormat(currency === "INR" ? "en-IN" : "en-US").format(whole);
    const symbol = { INR: "₹", USD: "$", EUR: "€", GBP: "£" }[currency] || currency + " ";
    return sign + symbol + grouped + "." + cents;
  }

  function showError(text) {
    const el = $("live-error");
    el.textContent = text;
    el.hidden = !text;
  }

  async function fetchToken() {
    const res = await fetch("/console/token", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    if (!res.ok) throw new Error("signed out");
    token = (await res.json()).access_token;
  }

  async function api(method, path, body) {
    const headers = { authorization: "Bearer " + token };
    if (body) headers["content-type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    let value = null;
    try { value = text ? JSON.parse(text) : null; } catch (e) { value = null; }
    if (!res.ok) {
      const problem = value || {};
      throw new Error(problem.detail || "The request failed (" + res.status + ")");
    }
    return value;
  }

  function status(text) { $("live-status").textContent = text; }

  function line(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    const log = $("chat-log");
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }

  function showMessage(m) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    if (m.kind === "system") return line("system", m.body);
    const mine = m.sender_id === me;
    line(mine ? "me" : "them", m.body);
    if (!mine && ws && ws.readyState === 1) {
      frame({ type: "read", consultation_id: m.consultation_id, message_id: m.id });
    }
  }

  function frame(f) {
    if (!ws || ws.readyState !== 1) return false;
    f.id = "c" + (++seq) + "-" + Date.now();
    ws.send(JSON.stringify(f));
    return true;
  }

  // Puts consultation `c` on screen in its current state.
  function show(c) {
    current = c;
    const box = $("session");
    const iAmClient = c.client_id === me;
    $("cancel-request").hidden = !(iAmClient && c.status === "requested");
    $("end-session").hidden = c.status !== "active";
    $("chat-form").hidden = c.status !== "active";
    const review = $("review-form");
    if (review) review.hidden = !(iAmClient && c.status === "ended") || reviewed.has(c.id);
    box.hidden = false;
    $("session-with").textContent = c.reference + " · " + c.channel + " at " + money(c.rate, c.currency) + "/min";
    $("session-charged").textContent = "charged " + money(c.amount_charged || 0, c.currency);
    if (c.status === "requested") status(iAmClient ? "Waiting for the practitioner to answer…" : "Waiting for you to accept.");
    else if (c.status === "active") status("In session.");
    else if (c.status === "ended") status("Ended: " + words(c.end_reason) + ". " + (c.minutes_billed || 0) + " min, " + money(c.amount_charged || 0, c.currency) + ".");
    else status("Closed: " + words(c.status) + ".");
    if (c.status === "active") frame({ type: "sync", consultation_id: c.id });
  }

  async function refresh(id) {
    try { show(await api("GET", "/api/v1/consultations/" + id)); } catch (e) { showError(e.message); }
    refreshPresence();
  }

  // A practitioner's availability changes with their sessions (busy while full): the line
  // at the top follows it instead of keeping what the page was drawn with.
  async function refreshPresence() {
    if (role !== "practitioner" || !$("presence")) return;
    try {
      const p = await api("GET", "/api/v1/practitioners/me/presence");
      $("presence").textContent = words(p.availability).replace(/^./, (c) => c.toUpperCase());
      const sessions = $("presence-sessions");
      if (sessions) sessions.textContent = p.active_sessions + " of " + p.max_concurrent_sessions;
    } catch (e) {
      // The next event tries again.
    }
  }

  function addRequest(id, who, channel, rate, currency) {
    if (document.getElementById("req-" + id)) return;
    const none = $("no-requests");
    if (none) none.hidden = true;
    const li = document.createElement("li");
    li.id = "req-" + id;
    const label = document.createElement("span");
    label.textContent = (who || "A client") + " asks for a " + channel + " at " + money(rate, currency) + "/min";
    const accept = document.createElement("button");
    accept.textContent = "Accept";
    accept.className = "accept";
    const decline = document.createElement("button");
    decline.textContent = "Decline";
    decline.className = "secondary";
    const decide = async (what) => {
      accept.disabled = decline.disabled = true;
      try {
        await api("POST", "/api/v1/consultations/" + id + "/" + what, {});
        li.remove();
        if (what === "accept") await refresh(id);
      } catch (e) {
        showError(e.message);
        li.remove();
      }
    };
    accept.addEventListener("click", () => decide("accept"));
    decline.addEventListener("click", () => decide("decline"));
    li.append(label, accept, decline);
    $("requests").appendChild(li);
  }

  function onFrame(f) {
    switch (f.type) {
      case "consultation_requested":
        if (role === "practitioner") addRequest(f.consultation_id, f.client_name, f.channel, f.rate, f.currency);
        break;
      case "consultation_started":
      case "consultation_closed":
      case "consultation_ended":
        if (f.type === "consultation_closed") {
          const req = document.getElementById("req-" + f.consultation_id);
          if (req) req.remove();
        }
        if (!current || current.id === f.consultation_id || f.type === "consultation_started") refresh(f.consultation_id);
        if (f.type !== "consultation_started") $("low-balance").hidden = true;
        break;
      case "minute_charged":
        if (current && current.id === f.consultation_id) {
          $("session-charged").textContent = "charged " + money(f.total_charged, current.currency);
        }
        break;
      case "billing_warning": {
        const el = $("low-balance");
        el.textContent = "";
        el.append("The balance covers " + f.minutes_left + " more minute" + (f.minutes_left === 1 ? "" : "s") + ". ");
        if (role === "client") {
          const a = document.createElement("a");
          a.href = "/console/client#topup";
          a.textContent = "Top up to continue";
          el.append(a);
        }
        el.hidden = false;
        break;
      }
      case "message": showMessage(f.message); break;
      case "ack": if (f.messages) f.messages.forEach(showMessage); break;
      case "typing": {
        const el = $("typing");
        el.textContent = "Typing…";
        el.hidden = false;
        clearTimeout(onFrame.typingTimer);
        onFrame.typingTimer = setTimeout(() => { el.hidden = true; }, 3000);
        break;
      }
      case "error": showError(f.detail || words(f.code)); break;
      case "resync": if (current) frame({ type: "sync", consultation_id: current.id }); break;
      default: break;
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(proto + "://" + location.host + "/api/v1/ws?access_token=" + encodeURIComponent(token));
    ws.onmessage = (e) => onFrame(JSON.parse(e.data));
    ws.onopen = () => { panel.dataset.connected = "true"; if (current && current.status === "active") frame({ type: "sync", consultation_id: current.id }); };
    ws.onclose = () => {
      panel.dataset.connected = "false";
      setTimeout(async () => { try { await fetchToken(); connect(); } catch (e) { status("Signed out: reload the page."); } }, 2000);
    };
  }

  // On load: the open session (requested or active) comes back, and a practitioner's
  // waiting requests are listed again.
  async function recover() {
    const page = await api("GET", "/api/v1/consultations?limit=20");
    const open = page.items.filter((c) => c.status === "requested" || c.status === "active");
    let mine = null;
    for (const c of open) {
      if (role === "practitioner" && c.status === "requested" && c.client_id !== me) {
        addRequest(c.id, null, c.channel, c.rate, c.currency);
      } else if (!mine) {
        mine = c;
      }
    }
    if (mine) show(mine);
    else status(role === "practitioner" ? "No session. Requests appear here while you are online." : "No session. Choose a practitioner below to chat.");
  }

  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("chat-text");
    const text = input.value.trim();
    if (!text || !current) return;
    if (frame({ type: "message", consultation_id: current.id, text })) {
      input.value = "";
      showError("");
    } else {
      showError("Not connected; trying again in a moment.");
    }
  });
  let lastTyping = 0;
  $("chat-text").addEventListener("input", () => {
    if (current && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      frame({ type: "typing", consultation_id: current.id });
    }
  });
  $("end-session").addEventListener("click", async () => {
    if (!current) return;
    try { await api("POST", "/api/v1/consultations/" + current.id + "/end", {}); await refresh(current.id); } catch (e) { showError(e.message); }
  });
  $("cancel-request").addEventListener("click", async () => {
    if (!current) return;
    try { await api("POST", "/api/v1/consultations/" + current.id + "/cancel", {}); await refresh(current.id); } catch (e) { showError(e.message); }
  });

  const reviewForm = $("review-form");
  if (reviewForm) {
    reviewForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      try {
        await api("POST", "/api/v1/consultations/" + current.id + "/review", {
          rating: Number($("review-rating").value),
          text: $("review-text").value.trim() || undefined,
        });
        reviewed.add(current.id);
        reviewForm.hidden = true;
        status("Thank you: your review is posted.");
        showError("");
      } catch (err) {
        showError(err.message);
      }
    });
  }

  // Signs of life: a ping keeps sessions and presence alive; a practitioner's heartbeat
  // keeps them online while the page is open; the token is renewed before it expires.
  setInterval(() => frame({ type: "ping" }), 10000);
  if (role === "practitioner") {
    setInterval(() => { api("POST", "/api/v1/practitioners/me/presence/heartbeat").catch(() => {}); }, 20000);
  }
  setInterval(() => { fetchToken().catch(() => {}); }, 240000);

  (async function start() {
    try {
      await fetchToken();
      await recover();
      connect();
    } catch (e) {
      showError(e.message);
    }
  })();
})();
