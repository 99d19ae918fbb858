#!/usr/bin/env bash
# The API contract check, run by .ci/run after the tests:
# 1. the OpenAPI document passes openapi-spec-validator;
# 2. openapi-python-client generates a client from it, the client installs, and a script
#    signs in, reads the wallet and lists practitioners through it against the demo server;
# 3. schemathesis runs over every operation as a client, a practitioner and an admin. Any
#    5xx, undocumented status or content type, or body that breaks its schema fails.
# Generated SDKs are only as good as the document, so these are failures, not warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Pinned so a new release cannot change the verdict on an unchanged document.
SCHEMATHESIS_VERSION=4.32.5
SPEC_VALIDATOR_VERSION=0.9.0
CLIENT_GENERATOR_VERSION=0.29.1
# Per role: test cases per operation and a time budget, together well under five minutes.
MAX_EXAMPLES="${AUGUR_CONTRACT_MAX_EXAMPLES:-20}"
MAX_TIME_PER_ROLE="${AUGUR_CONTRACT_MAX_TIME:-50}"

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
# The generator formats its output with ruff, installed beside it in the venv.
export PATH="$work/venv/bin:$PATH"
"$py" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" \
    "openapi-spec-validator==$SPEC_VALIDATOR_VERSION" \
    "openapi-python-client==$CLIENT_GENERATOR_VERSION"

# The debug binary that `cargo test` builds (integration tests need it): after the test step
# this is a no-op, where `cargo build` alone would recompile for its different feature set.
# AUGUR_BIN names another binary, for running this check alone.
bin="${AUGUR_BIN:-}"
if [[ -z "$bin" ]]; then
    cargo test --workspace --locked --no-run --quiet
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/augur"
fi

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# A fresh demo server. The limits on sign-ins, codes, resets and chart computations are per
# IP, and every request here comes from one: raised (and the login backoff turned off) so
# that no operation hides behind a 429.
(
    cd "$work"
    AUGUR_BIND="127.0.0.1:$port" \
    AUGUR_DATABASE_URL="sqlite://$work/augur.db?mode=rwc" \
    AUGUR_LOG_LEVEL=warn \
    AUGUR_LOGIN_LIMIT_PER_IP=1000000 \
    AUGUR_LOGIN_LIMIT_PER_IDENTIFIER=1000000 \
    AUGUR_OTP_LIMIT_PER_IP=1000000 \
    AUGUR_OTP_LIMIT_PER_IDENTIFIER=1000000 \
    AUGUR_ASTROLOGY_LIMIT_PER_IP=1000000 \
    AUGUR_PASSWORD_RESET_LIMIT_PER_IP=1000000 \
    AUGUR_PASSWORD_RESET_LIMIT_PER_IDENTIFIER=1000000 \
    AUGUR_LOGIN_BACKOFF_AFTER=0 \
        exec "$bin" serve --demo
) >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
    if curl -fsS "$base/health/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.log"
        echo "the demo server did not start" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fsS "$base/api/openapi.json" -o "$work/openapi.json"

echo "== openapi-spec-validator"
"$work/venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "== openapi-python-client: generate, install, call"
(
    cd "$work"
    # A warning means part of the API is missing from the client: fail on it.
    "$work/venv/bin/openapi-python-client" generate --path openapi.json \
        --config "$root/.ci/openapi-python-client.yml" --fail-on-warning \
        --output-path augur-client --meta setup --overwrite
)
"$py" -m pip install --quiet --disable-pip-version-check "$work/augur-client"
"$py" "$root/.ci/client_smoke.py" "$base"

token() {
    curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"augur-demo-password\"}" |
        "$py" -c 'import json, sys; print(json.load(sys.stdin)["tokens"]["access_token"])'
}

# Operations that would end the caller's own session or account, after which every later
# case would only see 401 and test nothing (schemathesis reuses ids it saw in responses, so
# it does find the caller's own session).
exclude=(
    --exclude-operation-id logout
    --exclude-operation-id delete_me
    --exclude-operation-id revoke_session
)

# One worker: with several, hypothesis parses lambdas' source from threads at once, which
# CPython before 3.11.8 can fail with "AST constructor recursion depth mismatch" (a tool
# error, not a finding). The debug server is the bottleneck anyway.
status=0
for who in asha@demo.augur.dev practitioner1@demo.augur.dev admin@demo.augur.dev; do
    echo "== schemathesis as $who"
    auth="Authorization: Bearer $(token "$who")"
    # From the scratch directory: schemathesis keeps its replay store in the working one.
    (cd "$work" && "$work/venv/bin/schemathesis" run "$work/openapi.json" --url "$base" \
        --header "$auth" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME_PER_ROLE" \
        --phases examples,coverage,fuzzing \
        --seed 1 --no-shrink --workers 1 \
        --suppress-health-check all --warnings off \
        "${exclude[@]}") || status=1
done
if [[ $status -ne 0 ]]; then
    echo "--- server log (last 100 lines)"
    tail -n 100 "$work/server.log"
fi
exit $status
