//! Seed 004's "Complete Integration Example", in Rust.
//!
//! ```sh
//! LICENTRIC_SERVER_URL=http://127.0.0.1:8787 LICENTRIC_PRODUCT_ID=… LICENTRIC_PRODUCT_SALT=… \
//! LICENTRIC_PUBLIC_KEY="$(curl -s http://127.0.0.1:8787/api/v1/accounts/…/jwks.json)" \
//! LICENTRIC_LICENSE_KEY=DEMO-XXXX-XXXX-XXXX-XXXX cargo run -p licentric-client --example license_check
//! ```
//! Exits 0 when licensed (including degraded), 1 otherwise, printing the status or the
//! error code.

use std::process::ExitCode;

use licentric_client::{LicenseClient, LicenseErrorCode};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let (Some(server_url), Some(product_id), Some(product_salt)) = (
        env("LICENTRIC_SERVER_URL"),
        env("LICENTRIC_PRODUCT_ID"),
        env("LICENTRIC_PRODUCT_SALT"),
    ) else {
        eprintln!("set LICENTRIC_SERVER_URL, LICENTRIC_PRODUCT_ID and LICENTRIC_PRODUCT_SALT");
        return ExitCode::from(2);
    };
    let mut builder = LicenseClient::builder(&server_url, &product_id, &product_salt);
    match env("LICENTRIC_PUBLIC_KEY") {
        Some(public_key) => builder = builder.public_key(&public_key),
        // Not an error here, so `activate` can still be tried; but nothing will license.
        None => eprintln!(
            "warning: LICENTRIC_PUBLIC_KEY is not set; without the vendor's key no answer can be verified, so nothing is licensed"
        ),
    }
    if let Some(dir) = env("LICENTRIC_STORAGE_DIR") {
        builder = builder.storage_dir(dir);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };

    if let Some(key) = env("LICENTRIC_LICENSE_KEY") {
        match client.activate(&key).await {
            Ok(info) => {
                println!(
                    "Activated. Expires: {}",
                    info.expires_at
                        .map_or("never".to_owned(), |e| e.to_rfc3339())
                );
                println!(
                    "Machines: {}/{}",
                    info.machines_used,
                    info.max_machines
                        .map_or("unlimited".to_owned(), |m| m.to_string())
                );
            }
            Err(error) if error.code == LicenseErrorCode::MachineLimit => {
                println!("Cannot activate: {}", error.message);
                println!("error: {}", error.code.as_str());
                return ExitCode::FAILURE;
            }
            Err(error) => {
                println!("Activation failed: {}", error.message);
                println!("error: {}", error.code.as_str());
                return ExitCode::FAILURE;
            }
        }
    }

    if client.check_license().await {
        if let Some(error) = client
            .get_error()
            .filter(|e| e.code == LicenseErrorCode::Degraded)
        {
            println!("WARNING: {}", error.message);
        }
        println!(
            "status: {}",
            client.get_status().unwrap_or_else(|| "active".to_owned())
        );
        return ExitCode::SUCCESS;
    }
    let Some(error) = client.get_error() else {
        println!("status: unknown");
        return ExitCode::FAILURE;
    };
    match error.code {
        LicenseErrorCode::NotActivated => {
            println!("No license activated: set LICENTRIC_LICENSE_KEY to activate one.")
        }
        LicenseErrorCode::Revoked => {
            println!("ERROR: Your license has been revoked. Contact support.")
        }
        LicenseErrorCode::Expired => println!("ERROR: License has expired."),
        LicenseErrorCode::MachineLimit => {
            println!("ERROR: Machine limit reached. Deactivate another machine or upgrade.")
        }
        LicenseErrorCode::Network => println!(
            "ERROR: Cannot reach license server and no cached token found. {}",
            error.message
        ),
        _ => println!("ERROR: {}", error.message),
    }
    println!("error: {}", error.code.as_str());
    ExitCode::FAILURE
}
