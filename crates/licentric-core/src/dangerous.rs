//! Reading licenses without verifying them.
//!
//! Everything here skips the signature and every other check. It exists for support
//! screens that must show what a refused file or token *claims* — "this file is for
//! machine 3f2a…, it expired on 1 March" — so a person can see why it was refused.
//! Never base a licensing decision on these values: anyone can write them.

use crate::{license_file::LicenseFile, token, LicensePayload, OfflineRefusal, TokenClaims};

/// What a `.lic` file claims, with the key id it names, checking only its shape.
pub fn decode_license_file_unverified(
    text: &str,
) -> Result<(String, LicensePayload), OfflineRefusal> {
    let file = LicenseFile::parse(text)?;
    let payload = file.decode_payload()?;
    Ok((file.key_id().to_owned(), payload))
}

/// What a validation token claims, checking only its shape.
pub fn decode_token_unverified(token: &str) -> Result<TokenClaims, OfflineRefusal> {
    token::decode_unverified(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        issue_token,
        license_file::tests::payload,
        signing::tests::{other_key, test_key},
        token::tests::claims,
    };

    #[test]
    fn shows_what_a_file_or_token_claims_whoever_signed_it() {
        let text = LicenseFile::sign(&payload(), &other_key()).unwrap();
        let (key_id, claimed) = decode_license_file_unverified(&text).unwrap();
        assert_eq!(key_id, other_key().key_id());
        assert_eq!(claimed, payload());

        let token = issue_token(&claims(), &test_key()).unwrap();
        assert_eq!(decode_token_unverified(&token).unwrap(), claims());
        assert_eq!(
            decode_token_unverified("a.b"),
            Err(OfflineRefusal::Malformed)
        );
        assert_eq!(
            decode_license_file_unverified("garbage"),
            Err(OfflineRefusal::Malformed)
        );
    }
}
