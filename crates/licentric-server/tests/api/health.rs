use crate::helpers::{read, spawn_app, start_time};

#[tokio::test]
async fn health_answers_ok_with_the_servers_time() {
    let app = spawn_app().await;
    let (status, body) = read(app.http.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], crate::helpers::database_kind());
    assert_eq!(
        body["time"],
        start_time().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
}
