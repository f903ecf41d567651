//! nginx from Debian in front of real server processes, as a vendor runs it: in the
//! foreground, with a configuration in a temporary folder (the one in
//! docs/postgresql-two-servers.nginx.conf, with the test's own ports).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A free loopback port (free a moment ago: nginx binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in the foreground, round-robin over `upstreams` on one loopback port; each
/// answer names the process that gave it (`X-Upstream`). Killed when dropped.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

/// Debian's nginx, which is in /usr/sbin (not always on a test's PATH).
fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("these tests need nginx: scripts/setup.sh installs it (apt install nginx)")
}

/// The configuration of the README's two-server example, with the test's own folder and
/// ports (docs/postgresql-two-servers.nginx.conf is the one a vendor starts from).
pub fn nginx_config(dir: &Path, port: u16, upstreams: &[String], location: &str) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|u| {
            format!(
                "        server {} max_fails=0;\n",
                u.trim_start_matches("http://")
            )
        })
        .collect();
    format!(
        "daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream licentric {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://licentric;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            add_header X-Upstream $upstream_addr always;
{location}        }}
    }}
}}
"
    )
}

impl Nginx {
    pub fn start(upstreams: &[String]) -> Self {
        Self::start_with(upstreams, "")
    }

    /// As [`Nginx::start`], with more directives (each line ending in `;` and a newline)
    /// in its one `location`.
    pub fn start_with(upstreams: &[String], location: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Its workers run as nobody when started as root: they write their buffers here.
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::set_permissions(
                dir.path().join(sub),
                std::os::unix::fs::PermissionsExt::from_mode(0o777),
            )
            .unwrap();
        }
        let port = free_port();
        let config = dir.path().join("nginx.conf");
        std::fs::write(&config, nginx_config(dir.path(), port, upstreams, location)).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!("nginx exited ({status}): {}", nginx.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx is not listening after 10 s: {}",
                nginx.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
