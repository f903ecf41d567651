//! The server's JSON request bodies on arbitrary input, read as the server reads them
//! (`licentric_server::extract::parse_json`): it must never panic, a refusal must be a 400
//! with a message (never a 500), and a body it accepts must come back the same after a
//! round trip through its JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licentric_core::wire::{
    BulkIssue, LicenseActions, LicenseUpdate, NewApiKey, NewEntitlement, NewLicense, NewMachine,
    NewPolicy, NewProduct, NewWebhook, PolicyUpdate, ValidateKeyRequest, WebhookUpdate,
};
use licentric_server::{extract::parse_json, ApiError};
use serde::{de::DeserializeOwned, Serialize};

fn read<T: DeserializeOwned + Serialize>(body: &[u8]) {
    match parse_json::<T>(body) {
        Ok(value) => {
            let again = serde_json::to_vec(&value).expect("an accepted body serialises");
            let value_again: T = parse_json(&again).expect("its own JSON is accepted again");
            assert_eq!(
                serde_json::to_value(&value).unwrap(),
                serde_json::to_value(&value_again).unwrap()
            );
        }
        Err(error) => {
            assert_eq!(error.status().as_u16(), 400, "{error:?}");
            assert!(!matches!(error, ApiError::Internal(_)));
            assert!(!error.to_string().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 13 {
        0 => read::<ValidateKeyRequest>(body),
        1 => read::<NewMachine>(body),
        2 => read::<NewLicense>(body),
        3 => read::<LicenseUpdate>(body),
        4 => read::<NewPolicy>(body),
        5 => read::<PolicyUpdate>(body),
        6 => read::<NewProduct>(body),
        7 => read::<NewEntitlement>(body),
        8 => read::<NewWebhook>(body),
        9 => read::<WebhookUpdate>(body),
        10 => read::<NewApiKey>(body),
        11 => read::<BulkIssue>(body),
        _ => read::<LicenseActions>(body),
    }
});
