//! Template rendering (minijinja) and storage: one row per (event, channel, locale) in
//! `notification_templates`, seeded from the catalog's defaults at start.
//!
//! Rendering is strict: a name the data does not define is an error, not an empty string,
//! so a typo in an admin's template is caught when it is saved (it is rendered against the
//! event's sample data, with and without the optional keys). HTML bodies are rendered with
//! HTML auto-escaping; subjects, text and SMS are not escaped.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::Channel;
use super::events::{self, EventDef};
use store::entity::notification_template as tpl;

/// The locale every event has templates in; others fall back to it.
pub const DEFAULT_LOCALE: &str = "en";

/// The source of one channel's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateSource {
    pub subject: Option<String>,
    pub body: String,
    pub html: Option<String>,
}

impl From<events::DefaultTemplate> for TemplateSource {
    fn from(d: events::DefaultTemplate) -> Self {
        Self {
            subject: d.subject.map(str::to_owned),
            body: d.body.to_owned(),
            html: d.html.map(str::to_owned),
        }
    }
}

impl From<tpl::Model> for TemplateSource {
    fn from(m: tpl::Model) -> Self {
        Self {
            subject: m.subject,
            body: m.body,
            html: m.html,
        }
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
    pub html: Option<String>,
}

/// Why a template did not render: which part, on which line, and minijinja's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub part: &'static str,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", self.part, self.message),
            None => write!(f, "{}: {}", self.part, self.message),
        }
    }
}

impl std::error::Error for RenderError {}

/// "15 minutes", "1 hour", "24 hours", "1 h 30 min" from a number of minutes (a number or
/// a numeric string, as callers may pass either).
fn duration_filter(value: minijinja::Value) -> Result<String, minijinja::Error> {
    let minutes = i64::try_from(value.clone())
        .ok()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("duration expects a number of minutes, got {value}"),
            )
        })?;
    Ok(human_minutes(minutes))
}

pub fn human_minutes(minutes: i64) -> String {
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    if minutes < 60 {
        return plural(minutes, "minute", "minutes");
    }
    if minutes % (24 * 60) == 0 {
        let days = minutes / (24 * 60);
        // "24 hours" reads better than "1 day" for the common day-before reminder.
        if days == 1 {
            return "24 hours".to_owned();
        }
        return plural(days, "day", "days");
    }
    if minutes % 60 == 0 {
        return plural(minutes / 60, "hour", "hours");
    }
    format!("{} h {} min", minutes / 60, minutes % 60)
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("duration", duration_filter);
    env
});

fn render_part(part: &'static str, source: &str, ctx: &Value) -> Result<String, RenderError> {
    let name = if part == "html" {
        "template.html"
    } else {
        "template.txt"
    };
    ENV.render_named_str(name, source, minijinja::Value::from_serialize(ctx))
        .map(|s| s.trim().to_owned())
        .map_err(|e| RenderError {
            part,
            line: e.line(),
            message: match e.detail() {
                Some(detail) => format!("{}: {detail}", e.kind()),
                None => e.kind().to_string(),
            },
        })
}

/// Renders every part of `source` with `ctx`.
pub fn render(source: &TemplateSource, ctx: &Value) -> Result<Rendered, RenderError> {
    Ok(Rendered {
        subject: source
            .subject
            .as_deref()
            .map(|s| render_part("subject", s, ctx))
            .transpose()?,
        body: render_part("body", &source.body, ctx)?,
        html: source
            .html
            .as_deref()
            .map(|s| render_part("html", s, ctx))
            .transpose()?,
    })
}

/// The names every template may use besides the event's data.
pub fn base_context(data: &Value, name: &str, channel: Channel) -> Value {
    let mut ctx = match data {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    ctx.entry("app_name")
        .or_insert_with(|| super::APP_NAME.into());
    ctx.entry("name").or_insert_with(|| {
        if name.trim().is_empty() {
            "there".into()
        } else {
            name.into()
        }
    });
    if channel == Channel::Email {
        // Empty for categories that cannot be switched off.
        ctx.entry("unsubscribe_url").or_insert_with(|| "".into());
    }
    Value::Object(ctx)
}

/// Checks that `source` suits `event` on `channel`: it has the parts the channel needs and
/// renders with the sample data, with and without the optional keys.
pub fn validate(
    def: &EventDef,
    channel: Channel,
    source: &TemplateSource,
) -> Result<(), RenderError> {
    let needs_subject = channel != Channel::Sms;
    if needs_subject
        && source
            .subject
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        return Err(RenderError {
            part: "subject",
            line: None,
            message: format!("a {} template needs a subject", channel.as_str()),
        });
    }
    if !needs_subject && source.subject.is_some() {
        return Err(RenderError {
            part: "subject",
            line: None,
            message: "an SMS has no subject".into(),
        });
    }
    if source.html.is_some() && channel != Channel::Email {
        return Err(RenderError {
            part: "html",
            line: None,
            message: "only email templates have an HTML body".into(),
        });
    }
    for sample in [def.sample(), def.minimal_sample()] {
        let rendered = render(source, &base_context(&sample, "Asha", channel))?;
        if rendered.body.is_empty() {
            return Err(RenderError {
                part: "body",
                line: None,
                message: "renders to nothing".into(),
            });
        }
    }
    Ok(())
}

/// The stored template for (event, channel), in `locale` or else the default locale.
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    event: &str,
    channel: Channel,
    locale: &str,
) -> Result<Option<TemplateSource>, sea_orm::DbErr> {
    let rows = tpl::Entity::find()
        .filter(tpl::Column::Event.eq(event))
        .filter(tpl::Column::Channel.eq(channel.as_str()))
        .filter(tpl::Column::Locale.is_in([locale, DEFAULT_LOCALE]))
        .all(conn)
        .await?;
    let pick = rows
        .iter()
        .position(|r| r.locale == locale)
        .or_else(|| rows.iter().position(|r| r.locale == DEFAULT_LOCALE));
    Ok(pick.map(|i| rows[i].clone().into()))
}

/// Renders (event, channel) for `locale`: the stored template, or if it fails with this data
/// (an admin's edit that expects a key this caller did not pass), the built-in default.
pub async fn render_for<C: ConnectionTrait>(
    conn: &C,
    def: &EventDef,
    channel: Channel,
    locale: &str,
    ctx: &Value,
) -> Result<Result<Rendered, RenderError>, sea_orm::DbErr> {
    if let Some(stored) = load(conn, def.name, channel, locale).await? {
        match render(&stored, ctx) {
            Ok(r) => return Ok(Ok(r)),
            Err(e) => {
                tracing::warn!(event = def.name, channel = channel.as_str(), locale, error = %e,
                "stored template failed; using the default")
            }
        }
    }
    Ok(render(&def.template(channel).into(), ctx))
}

/// Copies the catalog's default templates into the table: missing ones are added, ones no
/// admin has edited follow the code, edited ones are left alone.
pub async fn sync_defaults<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let existing = tpl::Entity::find()
        .filter(tpl::Column::Locale.eq(DEFAULT_LOCALE))
        .order_by_asc(tpl::Column::Id)
        .all(conn)
        .await?;
    for def in events::EVENTS {
        for channel in Channel::ALL {
            let source: TemplateSource = def.template(channel).into();
            let row = existing
                .iter()
                .find(|r| r.event == def.name && r.channel == channel.as_str());
            match row {
                Some(r) if r.customized || TemplateSource::from(r.clone()) == source => {}
                Some(r) => {
                    tpl::Entity::update_many()
                        .col_expr(tpl::Column::Subject, source.subject.clone().into())
                        .col_expr(tpl::Column::Body, source.body.clone().into())
                        .col_expr(tpl::Column::Html, source.html.clone().into())
                        .col_expr(tpl::Column::UpdatedAt, now.into())
                        .filter(tpl::Column::Id.eq(r.id))
                        .filter(tpl::Column::Customized.eq(false))
                        .exec(conn)
                        .await?;
                }
                None => {
                    // Two nodes starting together may both insert: the second does nothing.
                    tpl::Entity::insert(tpl::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        event: Set(def.name.to_owned()),
                        channel: Set(channel.as_str().to_owned()),
                        locale: Set(DEFAULT_LOCALE.to_owned()),
                        subject: Set(source.subject),
                        body: Set(source.body),
                        html: Set(source.html),
                        customized: Set(false),
                        updated_by: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    })
                    .on_conflict(
                        OnConflict::columns([
                            tpl::Column::Event,
                            tpl::Column::Channel,
                            tpl::Column::Locale,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(conn)
                    .await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_default_template_renders_with_full_and_minimal_data() {
        for def in events::EVENTS {
            for channel in Channel::ALL {
                validate(def, channel, &def.template(channel).into())
                    .unwrap_or_else(|e| panic!("{} {}: {e}", def.name, channel.as_str()));
            }
        }
    }

    #[test]
    fn an_undefined_name_is_an_error_with_its_line() {
        let src = TemplateSource {
            subject: Some("Hi".into()),
            body: "Hello\n{{ nmae }}".into(),
            html: None,
        };
        let err = render(&src, &json!({"name": "Asha"})).unwrap_err();
        assert_eq!(err.part, "body");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("undefined"), "{}", err.message);
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let src = TemplateSource {
            subject: Some("{{ name }}".into()),
            body: "{{ name }}".into(),
            html: Some("<p>{{ name }}</p>".into()),
        };
        let r = render(&src, &json!({"name": "<b>Tom & Jerry</b>"})).unwrap();
        assert_eq!(r.body, "<b>Tom & Jerry</b>");
        assert_eq!(
            r.html.as_deref(),
            Some("<p>&lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;</p>")
        );
    }

    #[test]
    fn optional_keys_must_be_tested_before_use() {
        let def = events::find("booking.cancelled").unwrap();
        let careless = TemplateSource {
            subject: Some("Cancelled".into()),
            body: "Refund: {{ refund }}".into(),
            html: None,
        };
        let err = validate(def, Channel::InApp, &careless).unwrap_err();
        assert!(err.message.contains("undefined"), "{err}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_minutes(1), "1 minute");
        assert_eq!(human_minutes(15), "15 minutes");
        assert_eq!(human_minutes(60), "1 hour");
        assert_eq!(human_minutes(120), "2 hours");
        assert_eq!(human_minutes(90), "1 h 30 min");
        assert_eq!(human_minutes(1440), "24 hours");
        assert_eq!(human_minutes(2880), "2 days");
        let r = render(
            &TemplateSource {
                subject: None,
                body: "in {{ m | duration }}".into(),
                html: None,
            },
            &json!({"m": "15"}),
        )
        .unwrap();
        assert_eq!(r.body, "in 15 minutes");
    }
}
