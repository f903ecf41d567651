//! The roles the binary migrates and serves as.

use super::*;

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn migrate_runs_once_as_the_owner_and_not_as_the_runtime_role() {
    let pg = fresh().await;
    let run = |args: &[&str]| {
        let out = crate::binary::command(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Already migrated by fresh(): a second run changes nothing and says the version.
    let (ok, out) = run(&["migrate", "--database-url", &pg.owner_url]);
    assert!(ok, "{out}");
    let newest = postgres::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    assert!(
        out.contains(&format!("schema is at version {newest}")),
        "{out}"
    );
    // The runtime role cannot migrate (it may not create anything).
    let (ok, out) = run(&["migrate", "--database-url", &pg.app_url]);
    assert!(!ok, "{out}");
    // The flags of the pool are taken.
    let (ok, out) = run(&[
        "migrate",
        "--database-url",
        &pg.owner_url,
        "--database-pool-size",
        "2",
        "--database-statement-timeout-ms",
        "1000",
    ]);
    assert!(ok, "{out}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn serve_runs_as_the_runtime_role_on_a_current_schema_and_refuses_otherwise() {
    use crate::binary::{command, ServerProcess};
    // Empty: fresh()'s seeded signing keys are not sealed with any secret, and the server
    // checks its secret against the keys it finds on start.
    let pg = fresh_empty().await;
    let secret = "a server secret of at least thirty-two characters";
    let serve = |url: &str, extra: &[&str]| {
        let mut serve = command(&["serve", "--listen", "127.0.0.1:0", "--database-url", url]);
        serve.args(extra).env("LICENTRIC_SECRET", secret);
        ServerProcess::start(serve)
    };
    // The migration role owns the tables (it could turn the policies off): refused.
    let refusal = serve(&pg.owner_url, &[]).err().unwrap();
    assert!(refusal.contains("owns the schema's tables"), "{refusal}");
    // No secret given: refused (each process must use the same one).
    let mut no_secret = command(&["serve", "--listen", "127.0.0.1:0", "--database-url"]);
    no_secret.arg(&pg.app_url);
    let refusal = ServerProcess::start(no_secret).err().unwrap();
    assert!(refusal.contains("server secret must be given"), "{refusal}");
    // The runtime role on the current schema: serves, and says which database.
    let server = serve(&pg.app_url, &["--database-pool-size", "2"]).unwrap();
    let health: serde_json::Value = reqwest::get(format!("{}/health", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "postgresql");
    drop(server);
    // A schema behind this server's version: refused with the way out, unless the
    // migration role's URL is given, which migrates on start.
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .execute(&pg.admin)
        .await
        .unwrap();
    let refusal = serve(&pg.app_url, &[]).err().unwrap();
    assert!(
        refusal.contains("run `licentric-server migrate"),
        "{refusal}"
    );
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version < 0")
        .execute(&pg.admin)
        .await
        .unwrap();
    let server = serve(&pg.app_url, &["--database-migration-url", &pg.owner_url]).unwrap();
    let (status, _) = crate::helpers::read(
        reqwest::get(format!("{}/health", server.url))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}
