//! The id of the request being served, so audit entries and logs written deep in a service
//! can name it. The HTTP layer sets it for each request; jobs and workers have none.

tokio::task_local! {
    pub static REQUEST_ID: String;
}

pub fn current_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
