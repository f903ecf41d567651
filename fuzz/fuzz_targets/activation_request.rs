//! The activation-request reader on arbitrary input: it must never panic, and whatever
//! it accepts must survive a round trip unchanged and stay small.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licentric_core::ActivationRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(request) = ActivationRequest::parse(text) {
        let again = request.to_text();
        assert_eq!(ActivationRequest::parse(&again).as_ref(), Ok(&request));
        assert!(again.len() <= 8 * 1024, "{} characters", again.len());
    }
});
