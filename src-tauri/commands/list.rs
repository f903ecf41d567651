// The one list of the app's commands, by window. `build.rs` includes this file to declare
// them to Tauri (each gets `allow-…` / `deny-…` permissions, refused unless granted);
// `capabilities/<window>.json` grant them; `lib.rs` registers their handlers. The test
// `commands::tests::the_command_lists_agree` fails when the four disagree.

/// The end user's window (`main`): License view, offline activation, Settings.
pub const MAIN_WINDOW: &[&str] = &[
    "app_info",
    "open_console",
    "launch_painted",
    "license_status",
    "activate_license",
    "license_slots",
    "deactivate_machine",
    "deactivate_this_machine",
    "offline_request",
    "import_license_file",
    "get_settings",
    "check_settings",
    "save_settings",
    "test_connection",
    "export_diagnostics",
];

/// The vendor console's window (`console`): management over the console's connection.
pub const CONSOLE_WINDOW: &[&str] = &[
    "app_info",
    // connections
    "console_connections",
    "console_session",
    "add_console_connection",
    "use_console_connection",
    "remove_console_connection",
    // products
    "list_products",
    "get_product",
    "create_product",
    "update_product",
    "delete_product",
    "account_jwks",
    // policies
    "list_policies",
    "get_policy",
    "create_policy",
    "update_policy",
    "delete_policy",
    // entitlements
    "list_entitlements",
    "create_entitlement",
    "update_entitlement",
    "delete_entitlement",
    // licenses
    "list_licenses",
    "get_license",
    "create_license",
    "update_license",
    "license_action",
    "attach_entitlements",
    "detach_entitlement",
    "diagnose_license",
    "act_on_licenses",
    "issue_licenses",
    "cancel_console_job",
    "import_licenses",
    "export_licenses_csv",
    // machines
    "list_machines",
    "delete_machine",
    "export_machines_csv",
    // api keys
    "list_api_keys",
    "create_api_key",
    "rotate_api_key",
    "revoke_api_key",
    // webhooks
    "list_webhooks",
    "get_webhook",
    "create_webhook",
    "update_webhook",
    "delete_webhook",
    "rotate_webhook_secret",
    "test_webhook",
    "webhook_deliveries",
    "redeliver_webhook_delivery",
    // audit trail
    "list_events",
    "export_events_csv",
    // analytics
    "analytics_series",
    "analytics_seats",
    "analytics_expiring",
    // signing keys
    "list_signing_keys",
    "rotate_signing_key",
    // support desk
    "read_activation_request",
    "review_activation_request",
    "issue_offline_license",
    "save_license_file",
];
