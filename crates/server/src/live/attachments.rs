//! Images and files in chat: uploaded as the raw request body, kept in the database (one
//! binary, no object store to run), their type sniffed from the bytes rather than trusted
//! from the client, posted as an `image` or `file` message and served back only to the
//! consultation's participants (and admins) with headers that stop a browser from running
//! them. Each user's stored files are bounded in all by `chat_attachment_quota_bytes`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiPath, ApiQuery};
use domain::live::chat::MessageView;
use domain::live::engine::Status;
use store::entity::{chat_attachment, chat_message, consultation, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
}

/// What we accept, recognised by the first bytes of the file.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, bool)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", true))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", true))
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", true))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image/gif", true))
    } else if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", false))
    } else {
        None
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Shown to the other participant (letters, digits, `.-_ ` only; at most 100).
    pub filename: String,
    /// Your id for the message, as in a `message` frame: an upload resent with the same id
    /// is stored once.
    pub client_id: String,
}

fn clean_filename(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
    ok.then(|| name.to_owned())
}

/// Send an image (JPEG, PNG, WebP, GIF) or a PDF in a consultation's chat: the raw bytes
/// are the request body, at most `chat_upload_max_bytes`.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/attachments", tag = "consultations",
    params(("id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = MessageView), (status = 200, description = "Already stored (same client_id)", body = MessageView),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, description = "`payload_too_large`: the file is over `chat_upload_max_bytes`; \
            `attachment_quota_exceeded`: with it, your chat files would pass `chat_attachment_quota_bytes`", body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn upload(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<MessageView>)> {
    let filename = clean_filename(&q.filename).ok_or_else(|| {
        ApiError::field(
            "filename",
            "invalid_filename",
            "use 1 to 100 letters, digits, spaces, dots, dashes or underscores",
        )
    })?;
    let client_id = q.client_id.trim();
    if client_id.is_empty() || client_id.len() > domain::live::chat::MAX_CLIENT_ID_LEN {
        return Err(ApiError::field(
            "client_id",
            "out_of_range",
            "must be 1 to 64 bytes",
        ));
    }
    let c = consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| c.client_id == auth.id || c.practitioner_user_id == auth.id)
        .ok_or_else(|| ApiError::not_found("Consultation"))?;
    if let Some(existing) = domain::live::chat::by_client_id(&app, auth.id, client_id).await? {
        return Ok((StatusCode::OK, axum::Json(existing)));
    }
    if c.status != Status::Active.as_str() {
        return Err(ApiError::conflict(
            "consultation_not_active",
            "Files can be sent only while the session is active",
        ));
    }
    let limit = app.config.chat_upload_max_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Files are limited to {limit} bytes"),
        )
    })?;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "required", "the file is empty"));
    }
    let (content_type, is_image) = sniff(&bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "Send a JPEG, PNG, WebP or GIF image, or a PDF",
        )
    })?;
    let now = app.clock.now();
    let attachment_id = Uuid::now_v7();
    let txn = store::begin_write(&app.db).await?;
    within_quota(
        &txn,
        auth.id,
        bytes.len() as u64,
        app.config.chat_attachment_quota_bytes,
    )
    .await?;
    chat_attachment::ActiveModel {
        id: Set(attachment_id),
        consultation_id: Set(c.id),
        uploader_id: Set(auth.id),
        content_type: Set(content_type.to_owned()),
        filename: Set(filename.clone()),
        size: Set(bytes.len() as i64),
        sha256: Set(hex::encode(Sha256::digest(&bytes))),
        data: Set(bytes.to_vec()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let message = chat_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        consultation_id: Set(c.id),
        sender_id: Set(Some(auth.id)),
        client_msg_id: Set(Some(client_id.to_owned())),
        kind: Set(if is_image { "image" } else { "file" }.to_owned()),
        body: Set(filename),
        masked: Set(false),
        attachment_id: Set(Some(attachment_id)),
        created_at: Set(now),
        delivered_at: Set(None),
        read_at: Set(None),
    }
    .insert(&txn)
    .await;
    let message = match message {
        Ok(m) => m,
        Err(e) if crate::error::unique_violation(&e).is_some() => {
            drop(txn);
            let existing = domain::live::chat::by_client_id(&app, auth.id, client_id)
                .await?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("duplicate vanished")))?;
            return Ok((StatusCode::OK, axum::Json(existing)));
        }
        Err(e) => return Err(e.into()),
    };
    txn.commit().await?;
    let view = MessageView::from(message);
    domain::live::chat::fan_out(&app, &c, json!({"type": "message", "message": view})).await;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// Refuses a file that would take the uploader's stored chat files past `quota`. Runs in the
/// transaction that stores the file, after locking the uploader's row on PostgreSQL (SQLite's
/// write gate already serialises writers), so parallel uploads cannot each pass alone.
async fn within_quota(
    txn: &store::WriteTxn,
    uploader: Uuid,
    size: u64,
    quota: u64,
) -> ApiResult<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        user::Entity::find_by_id(uploader)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast it back for one decoding on both.
    let used: i64 = chat_attachment::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "used")
        .filter(chat_attachment::Column::UploaderId.eq(uploader))
        .into_tuple()
        .one(txn)
        .await?
        .unwrap_or(0);
    if u64::try_from(used).unwrap_or(0).saturating_add(size) > quota {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "attachment_quota_exceeded",
            format!("Your chat files may take {quota} bytes in all; this one does not fit"),
        ));
    }
    Ok(())
}

/// Fetch a chat file (the consultation's participants and admins).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn download(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let a = chat_attachment::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Attachment"))?;
    domain::live::chat::participant_view(&app, auth.id, auth.role, a.consultation_id)
        .await
        .map_err(|_| ApiError::not_found("Attachment"))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Images display inline; anything else downloads. Neither may run script.
    let disposition = if a.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{}\"", a.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok((headers, a.data).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(("image/jpeg", true)));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(("image/png", true)));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(("image/webp", true)));
        assert_eq!(sniff(b"%PDF-1.7"), Some(("application/pdf", false)));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn filenames_are_plain() {
        assert_eq!(clean_filename(" chart.png ").as_deref(), Some("chart.png"));
        assert!(clean_filename("../etc/passwd").is_none());
        assert!(clean_filename(".htaccess").is_none());
        assert!(clean_filename("a\"b.png").is_none());
        assert!(clean_filename("").is_none());
    }
}
