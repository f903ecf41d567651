//! The client's address behind a reverse proxy (`--trusted-proxies`).
//!
//! Behind nginx or a load balancer every connection comes from the proxy, so the rate
//! limits per address (anonymous validations, the failed-authentication lockout) would
//! count every client as one, and one client guessing keys would lock all of them out;
//! the audit trail would name the proxy. The proxy tells the client's address in
//! `X-Forwarded-For`, appending the address it was connected from to what the request
//! already carried.
//!
//! That header is believed only from the proxies the vendor names: a client connecting
//! straight to the server could otherwise write any address there and dodge its limits.
//! From a trusted proxy the header is read right to left, past the trusted proxies' own
//! addresses (a chain of them); the first address that is not one of them is the client.
//! Anything left of it was written by the client itself and is ignored. A value that is
//! not an address stops the walk at the last hop known good.

use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The addresses and networks whose `X-Forwarded-For` is believed. Empty by default:
/// then every client is the address it connected from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address for a request that came from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        // Every X-Forwarded-For line, in order, as one list, walked from its end.
        let hops = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("?").split(','))
            .map(str::trim)
            .rev();
        let mut client = peer;
        for hop in hops {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.contains(address) {
                break;
            }
        }
        client
    }
}

const FORWARDED_FOR: &str = "x-forwarded-for";

/// One entry of `X-Forwarded-For`: an address, or an address with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|a| a.to_canonical())
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and networks (`127.0.0.1`, `10.0.0.0/8`,
    /// `::1`, `fd00::/8`); empty for none.
    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "{item:?} is not an address or a network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn trusted(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    #[test]
    fn with_no_proxy_trusted_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("127.0.0.1"), &headers(&["203.0.113.7"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_client_that_is_not_a_trusted_proxy_cannot_name_another_address() {
        let proxies = trusted("10.0.0.0/8");
        assert_eq!(
            proxies.client_address(ip("198.51.100.4"), &headers(&["203.0.113.7"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_address_it_appended_is_the_client() {
        let proxies = trusted("127.0.0.1");
        assert_eq!(
            proxies.client_address(ip("127.0.0.1"), &headers(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
        // What the client wrote itself, left of the proxy's entry, is not believed.
        assert_eq!(
            proxies.client_address(
                ip("127.0.0.1"),
                &headers(&["198.51.100.1, 192.0.2.9", "203.0.113.7"])
            ),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_past() {
        let proxies = trusted("127.0.0.1, 10.0.0.0/8");
        assert_eq!(
            proxies.client_address(
                ip("127.0.0.1"),
                &headers(&["198.51.100.1, 203.0.113.7, 10.1.2.3"])
            ),
            ip("203.0.113.7")
        );
        // Only proxies all the way: the farthest one is the best known.
        assert_eq!(
            proxies.client_address(ip("127.0.0.1"), &headers(&["10.9.9.9, 10.1.2.3"])),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_stops_at_the_last_good_one() {
        let proxies = trusted("127.0.0.1, 10.0.0.0/8");
        assert_eq!(
            proxies.client_address(
                ip("127.0.0.1"),
                &headers(&["203.0.113.7, unknown, 10.1.2.3"])
            ),
            ip("10.1.2.3")
        );
        assert_eq!(
            proxies.client_address(ip("127.0.0.1"), &headers(&["203.0.113.7, "])),
            ip("127.0.0.1")
        );
        // No header at all: the proxy itself.
        assert_eq!(
            proxies.client_address(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ports_ipv6_and_ipv4_mapped_addresses_are_read() {
        let proxies = trusted("127.0.0.1, ::1");
        assert_eq!(
            proxies.client_address(ip("::ffff:127.0.0.1"), &headers(&["203.0.113.7:4711"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            proxies.client_address(ip("::1"), &headers(&["[2001:db8::7]:4711"])),
            ip("2001:db8::7")
        );
        assert_eq!(
            proxies.client_address(ip("::1"), &headers(&["::ffff:198.51.100.3"])),
            ip("198.51.100.3")
        );
    }

    #[test]
    fn the_list_reads_addresses_and_networks_and_names_what_it_cannot() {
        let proxies = trusted(" 127.0.0.1 , 10.1.2.3/8,::1,");
        let networks = ["127.0.0.1/32", "10.0.0.0/8", "::1/128"].map(|n| n.parse().unwrap());
        assert_eq!(proxies, TrustedProxies(networks.to_vec()));
        assert!(trusted("").is_empty());
        let error = "127.0.0.1, nginx".parse::<TrustedProxies>().unwrap_err();
        assert!(error.contains("\"nginx\" is not an address"), "{error}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }
}
