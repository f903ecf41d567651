//! Where webhooks may be sent. A tenant chooses the URL, but the server makes the request,
//! so without this a tenant could make the server reach what only it can reach: the cloud
//! metadata service, databases on loopback, the private network (server-side request
//! forgery, and a blind port scan through the delivery log).
//!
//! The same rule is applied twice: when an endpoint is saved ([`check_saved`], so the
//! tenant learns at once) and when a delivery connects ([`check_before_connect`] and
//! [`CheckedResolver`]: the host is resolved here, every address is checked, and only a
//! checked address is connected to, so a name that changes its answer after being saved
//! — DNS rebinding — is still refused).

use std::{
    fmt,
    future::Future,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use reqwest::Url;

/// Which non-public addresses webhooks may be sent to; the server's operator chooses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrivateTargets {
    /// Public addresses only (the default).
    #[default]
    None,
    /// Also loopback (`127.0.0.0/8`, `::1`, `localhost`): a receiver on the server's own
    /// machine.
    Loopback,
    /// Also loopback and private networks (`10/8`, `172.16/12`, `192.168/16`, `100.64/10`,
    /// `fc00::/7`). Link-local and metadata addresses stay refused.
    All,
}

impl PrivateTargets {
    /// The flag's value as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Loopback => "loopback",
            Self::All => "all",
        }
    }

    /// Whether an address of this kind may be sent to.
    pub fn allows(self, kind: AddressKind) -> bool {
        match kind {
            AddressKind::Public => true,
            AddressKind::Loopback => matches!(self, Self::Loopback | Self::All),
            AddressKind::Private | AddressKind::SharedNat | AddressKind::UniqueLocal => {
                self == Self::All
            }
            AddressKind::LinkLocal
            | AddressKind::Metadata
            | AddressKind::Unspecified
            | AddressKind::Multicast
            | AddressKind::Broadcast
            | AddressKind::Documentation
            | AddressKind::Reserved => false,
        }
    }
}

impl fmt::Display for PrivateTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PrivateTargets {
    type Err = String;

    /// `none`, `loopback` or `all`; `false` and `true` also work (for environment variables
    /// written as switches).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "false" => Ok(Self::None),
            "loopback" => Ok(Self::Loopback),
            "all" | "true" => Ok(Self::All),
            other => Err(format!(
                "{other:?} is not a choice: use none, loopback or all"
            )),
        }
    }
}

/// What an address (or a host name, before it is resolved) is, as far as sending to it
/// goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Reachable on the internet.
    Public,
    /// This machine: `127.0.0.0/8`, `::1`, `localhost`.
    Loopback,
    /// A private network: `10/8`, `172.16/12`, `192.168/16`, site-local and local NAT64
    /// IPv6, and names that only resolve inside one (single labels, `.internal`, `.lan`…).
    Private,
    /// Carrier-grade NAT, `100.64/10`: the provider's network, not the internet.
    SharedNat,
    /// IPv6 unique-local, `fc00::/7`.
    UniqueLocal,
    /// `169.254/16`, `fe80::/10`: where cloud metadata services live.
    LinkLocal,
    /// A cloud provider's instance metadata service.
    Metadata,
    /// `0.0.0.0`, `::` (which reach this machine on Linux).
    Unspecified,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Ranges reserved for examples (`192.0.2/24`, `2001:db8::/32`…): nothing lives there.
    Documentation,
    /// Any other special-purpose range (`0/8`, `240/4`, benchmarking, Teredo…).
    Reserved,
}

impl AddressKind {
    /// Words for messages: "… is {description}".
    pub fn description(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address (this machine)",
            Self::Private => "a private-network address",
            Self::SharedNat => "a carrier-grade NAT address",
            Self::UniqueLocal => "a unique-local IPv6 address",
            Self::LinkLocal => "a link-local address",
            Self::Metadata => "a cloud metadata address",
            Self::Unspecified => "the unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// What kind of address `ip` is. IPv6 forms that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4) are judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressKind {
    use AddressKind::*;
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => Unspecified,
        _ if ip.is_broadcast() => Broadcast,
        // AWS, GCP, Azure, Oracle and others; ECS task metadata; Alibaba Cloud.
        _ if ip == Ipv4Addr::new(169, 254, 169, 254)
            || ip == Ipv4Addr::new(169, 254, 170, 2)
            || ip == Ipv4Addr::new(100, 100, 100, 200) =>
        {
            Metadata
        }
        (0, _, _) => Reserved,
        (127, _, _) => Loopback,
        (10, _, _) | (192, 168, _) => Private,
        (172, 16..=31, _) => Private,
        (100, 64..=127, _) => SharedNat,
        (169, 254, _) => LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Documentation,
        // IETF protocol assignments, the old 6to4 relay, benchmarking.
        (192, 0, 0) | (192, 88, 99) | (198, 18..=19, _) => Reserved,
        (224..=239, _, _) => Multicast,
        (240..=255, _, _) => Reserved,
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressKind {
    use AddressKind::*;
    let s = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        classify_v4(Ipv4Addr::new(a, b, c, d))
    };
    match s {
        _ if ip.is_unspecified() => Unspecified,
        _ if ip.is_loopback() => Loopback,
        // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d.
        [0, 0, 0, 0, 0, 0xffff | 0, high, low] => embedded_v4(high, low),
        // NAT64, well-known prefix: the gateway connects to the IPv4 address inside.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => embedded_v4(high, low),
        // Local-use NAT64: a private network's own translator.
        [0x64, 0xff9b, 1, ..] => Private,
        // 6to4: the IPv4 address inside receives the traffic.
        [0x2002, high, low, ..] => match embedded_v4(high, low) {
            Public => Public,
            _ => Reserved,
        },
        // AWS's IPv6 metadata service (inside fc00::/7, so before it).
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => Metadata,
        [0x2001, 0xdb8, ..] => Documentation,
        [0x3fff, second, ..] if second < 0x1000 => Documentation,
        // IETF protocol assignments: Teredo, benchmarking, ORCHID…
        [0x2001, second, ..] if second < 0x200 => Reserved,
        [first, ..] if first & 0xfe00 == 0xfc00 => UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfe80 => LinkLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => Private,
        [first, ..] if first & 0xff00 == 0xff00 => Multicast,
        // Only 2000::/3 is global unicast; the rest is unassigned or special.
        [first, ..] if first & 0xe000 != 0x2000 => Reserved,
        _ => Public,
    }
}

/// What a host name is before it is resolved: names that can only mean this machine, a
/// private network or a metadata service. `None` when only resolving the name can tell.
pub fn classify_name(host: &str) -> Option<AddressKind> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    const METADATA: [&str; 2] = ["metadata.google.internal", "metadata.goog"];
    // Suffixes that never resolve on the public internet (RFC 6761, 6762, 8375, ICANN's
    // `.internal`) or that are in common private use.
    const PRIVATE_SUFFIXES: [&str; 7] = [
        ".internal",
        ".local",
        ".localdomain",
        ".home.arpa",
        ".lan",
        ".intranet",
        ".corp",
    ];
    if METADATA.contains(&host.as_str()) {
        Some(AddressKind::Metadata)
    } else if host == "localhost" || host.ends_with(".localhost") {
        Some(AddressKind::Loopback)
    } else if !host.contains('.') || PRIVATE_SUFFIXES.iter().any(|s| host.ends_with(s)) {
        // A single label resolves through the machine's search domains: a private name.
        Some(AddressKind::Private)
    } else {
        None
    }
}

/// Why a webhook URL may not be sent to. The text completes "url …" and names no
/// resolved address (that would tell a tenant about the server's network).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not `http` or `https`, or no host.
    #[error("must be an http:// or https:// URL with a host")]
    Scheme,
    /// `user:password@` in the URL: it would be stored and shown in plain text.
    #[error("must not hold a user name or password (user:password@); authenticate deliveries by their Licentric-Signature instead")]
    Credentials,
    /// The host is an address of a refused kind.
    #[error("points to {address}, {}; {}", .kind.description(), how_to_allow(*.kind))]
    Address {
        /// The address as written in the URL.
        address: IpAddr,
        /// What it is.
        kind: AddressKind,
    },
    /// The host name is, or resolves to, a refused kind of address.
    #[error("has a host, {host}, that {}{}; {}",
        if *.resolved { "resolves to " } else { "names " },
        .kind.description(),
        how_to_allow(*.kind))]
    Host {
        /// The host name.
        host: String,
        /// What it is (of the first refused address it resolves to).
        kind: AddressKind,
        /// Whether this was learnt by resolving the name (else from the name itself).
        resolved: bool,
    },
}

fn how_to_allow(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::Loopback => "webhooks are sent to public addresses only, unless the server's operator starts it with --allow-private-webhook-targets=loopback (or =all)",
        AddressKind::Private | AddressKind::SharedNat | AddressKind::UniqueLocal => "webhooks are sent to public addresses only, unless the server's operator starts it with --allow-private-webhook-targets=all",
        _ => "webhooks are never sent there; use a public address",
    }
}

/// The checks that need no network: scheme, credentials, and a host that is an address or
/// a name of a refused kind. Returns the host name still to resolve, if any.
pub fn check_before_connect(url: &Url, allowed: PrivateTargets) -> Result<Option<&str>, Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    // `Url` has already turned every IPv4 spelling (`2130706433`, `0x7f000001`, `127.1`)
    // into an address, so no name below is secretly an address.
    match url.host() {
        None => Err(Refusal::Scheme),
        Some(url::Host::Ipv4(ip)) => check_address(IpAddr::V4(ip), allowed),
        Some(url::Host::Ipv6(ip)) => check_address(IpAddr::V6(ip), allowed),
        Some(url::Host::Domain(host)) => match classify_name(host) {
            Some(kind) if !allowed.allows(kind) => Err(Refusal::Host {
                host: host.to_owned(),
                kind,
                resolved: false,
            }),
            _ => Ok(Some(host)),
        },
    }
}

fn check_address(
    address: IpAddr,
    allowed: PrivateTargets,
) -> Result<Option<&'static str>, Refusal> {
    let kind = classify(address);
    if allowed.allows(kind) {
        Ok(None)
    } else {
        Err(Refusal::Address { address, kind })
    }
}

/// Checks every address `host` resolves to; the first refused one refuses the host.
pub fn check_resolved(
    host: &str,
    addresses: &[IpAddr],
    allowed: PrivateTargets,
) -> Result<(), Refusal> {
    match addresses
        .iter()
        .map(|ip| classify(*ip))
        .find(|kind| !allowed.allows(*kind))
    {
        Some(kind) => Err(Refusal::Host {
            host: host.to_owned(),
            kind,
            resolved: true,
        }),
        None => Ok(()),
    }
}

/// How long saving an endpoint waits for its host name to resolve.
const SAVE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// The check when an endpoint is saved: everything [`check_before_connect`] checks, then
/// the host name is resolved and every address checked. A name that does not resolve (yet,
/// or not from this server) is accepted: deliveries check it again when they connect.
pub async fn check_saved(
    url: &Url,
    allowed: PrivateTargets,
    dns: &dyn Lookup,
) -> Result<(), Refusal> {
    let Some(host) = check_before_connect(url, allowed)? else {
        return Ok(());
    };
    match tokio::time::timeout(SAVE_LOOKUP_TIMEOUT, dns.lookup(host)).await {
        Ok(Ok(addresses)) => check_resolved(host, &addresses, allowed),
        Ok(Err(_)) | Err(_) => Ok(()),
    }
}

/// A future of [`Lookup`].
pub type LookupFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Resolves host names. The server uses the system's resolver; tests give one that answers
/// what they need (a name that changes its answer, for instance).
pub trait Lookup: Send + Sync + fmt::Debug {
    /// Every address `host` resolves to.
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a>;
}

/// The system's resolver (`getaddrinfo`, as the standard library uses it).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The host name did not resolve when a delivery connected.
#[derive(Debug, thiserror::Error)]
#[error("the host name does not resolve")]
pub struct Unresolved;

/// The delivery client's resolver: resolves with a [`Lookup`] and hands the connection
/// only addresses that passed the check, or a [`Refusal`] (found again in the request's
/// error) when any address is refused.
#[derive(Debug, Clone)]
pub struct CheckedResolver {
    dns: Arc<dyn Lookup>,
    allowed: PrivateTargets,
}

impl CheckedResolver {
    /// A resolver that lets through what `allowed` allows.
    pub fn new(dns: Arc<dyn Lookup>, allowed: PrivateTargets) -> Self {
        Self { dns, allowed }
    }
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (dns, allowed) = (self.dns.clone(), self.allowed);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if let Some(kind) = classify_name(&host).filter(|kind| !allowed.allows(*kind)) {
                return Err(Refusal::Host {
                    host,
                    kind,
                    resolved: false,
                }
                .into());
            }
            let addresses = dns.lookup(&host).await.map_err(|_| Unresolved)?;
            if addresses.is_empty() {
                return Err(Unresolved.into());
            }
            check_resolved(&host, &addresses, allowed)?;
            // Port 0: the connector puts in the URL's port.
            let checked: Vec<SocketAddr> = addresses
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            Ok(Box::new(checked.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressKind::*;

    fn kind(ip: &str) -> AddressKind {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges_are_classified() {
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedNat),
            ("100.127.255.255", SharedNat),
            ("100.128.0.0", Public),
            ("100.100.100.200", Metadata),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("169.254.1.1", LinkLocal),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Reserved),
            ("192.88.99.1", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Broadcast),
            ("8.8.8.8", Public),
            ("93.184.216.34", Public),
            ("1.1.1.1", Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4_are_classified() {
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::10.0.0.1", Private),
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("64:ff9b::8.8.8.8", Public),
            ("64:ff9b:1::1", Private),
            ("2002:7f00:1::", Reserved),
            ("2002:0808:0808::1", Public),
            ("fd00:ec2::254", Metadata),
            ("fd00::1", UniqueLocal),
            ("fc00::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001::1", Reserved),
            ("100::1", Reserved),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001::200e", Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn the_url_parser_turns_odd_ipv4_spellings_into_addresses() {
        for spelling in [
            "2130706433",
            "0x7f000001",
            "127.1",
            "0177.0.0.1",
            "127.0.1",
            "0x7f.1",
        ] {
            let url = Url::parse(&format!("http://{spelling}:6379/")).unwrap();
            assert_eq!(
                url.host(),
                Some(url::Host::Ipv4(Ipv4Addr::LOCALHOST)),
                "{spelling}"
            );
            assert!(
                matches!(
                    check_before_connect(&url, PrivateTargets::None),
                    Err(Refusal::Address { kind: Loopback, .. })
                ),
                "{spelling}"
            );
        }
    }

    #[test]
    fn names_that_cannot_be_public_are_classified_without_resolving() {
        let cases = [
            ("localhost", Some(Loopback)),
            ("LOCALHOST.", Some(Loopback)),
            ("api.localhost", Some(Loopback)),
            ("metadata.google.internal", Some(Metadata)),
            ("metadata.google.internal.", Some(Metadata)),
            ("metadata.goog", Some(Metadata)),
            ("redis", Some(Private)),
            ("db.internal", Some(Private)),
            ("printer.local", Some(Private)),
            ("nas.home.arpa", Some(Private)),
            ("example.com", None),
            ("hooks.localhost.example.com", None),
        ];
        for (name, expected) in cases {
            assert_eq!(classify_name(name), expected, "{name}");
        }
    }

    #[test]
    fn each_setting_allows_what_it_says() {
        let allowed = |setting: PrivateTargets| {
            [
                Public,
                Loopback,
                Private,
                SharedNat,
                UniqueLocal,
                LinkLocal,
                Metadata,
                Unspecified,
                Multicast,
                Broadcast,
                Documentation,
                Reserved,
            ]
            .into_iter()
            .filter(|k| setting.allows(*k))
            .collect::<Vec<_>>()
        };
        assert_eq!(allowed(PrivateTargets::None), [Public]);
        assert_eq!(allowed(PrivateTargets::Loopback), [Public, Loopback]);
        assert_eq!(
            allowed(PrivateTargets::All),
            [Public, Loopback, Private, SharedNat, UniqueLocal]
        );
    }

    #[test]
    fn the_setting_parses_from_its_names_and_from_booleans() {
        for (text, expected) in [
            ("none", PrivateTargets::None),
            ("false", PrivateTargets::None),
            ("loopback", PrivateTargets::Loopback),
            ("ALL", PrivateTargets::All),
            ("true", PrivateTargets::All),
        ] {
            assert_eq!(text.parse::<PrivateTargets>(), Ok(expected), "{text}");
        }
        assert!("yes".parse::<PrivateTargets>().is_err());
    }

    #[test]
    fn credentials_and_other_schemes_are_refused() {
        let check = |url: &str| {
            check_before_connect(&Url::parse(url).unwrap(), PrivateTargets::All)
                .map(|host| host.map(str::to_owned))
        };
        assert_eq!(
            check("http://user:pass@example.com/"),
            Err(Refusal::Credentials)
        );
        assert_eq!(check("http://user@example.com/"), Err(Refusal::Credentials));
        assert_eq!(check("file:///etc/passwd"), Err(Refusal::Scheme));
        assert_eq!(check("gopher://example.com/"), Err(Refusal::Scheme));
        assert_eq!(
            check("https://example.com/hook"),
            Ok(Some("example.com".to_owned()))
        );
    }

    /// Answers every name with the same addresses.
    #[derive(Debug)]
    struct Fixed(Vec<IpAddr>);

    impl Lookup for Fixed {
        fn lookup<'a>(&'a self, _host: &'a str) -> LookupFuture<'a> {
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_when_any_address_is_refused() {
        use reqwest::dns::Resolve;
        let resolve = |ips: &[&str], allowed| {
            let dns = Fixed(ips.iter().map(|ip| ip.parse().unwrap()).collect());
            CheckedResolver::new(Arc::new(dns), allowed)
                .resolve("hooks.example.com".parse().unwrap())
        };
        let refused = resolve(&["93.184.216.34", "127.0.0.1"], PrivateTargets::None)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(
                refused.downcast_ref::<Refusal>(),
                Some(Refusal::Host {
                    kind: Loopback,
                    resolved: true,
                    ..
                })
            ),
            "{refused}"
        );
        let addresses: Vec<SocketAddr> = resolve(&["127.0.0.1"], PrivateTargets::Loopback)
            .await
            .unwrap()
            .collect();
        assert_eq!(addresses, ["127.0.0.1:0".parse::<SocketAddr>().unwrap()]);
        let unresolved = resolve(&[], PrivateTargets::All).await.err().unwrap();
        assert!(unresolved.downcast_ref::<Unresolved>().is_some());
    }

    #[tokio::test]
    async fn saving_accepts_a_name_that_does_not_resolve_and_refuses_one_that_resolves_privately() {
        #[derive(Debug)]
        struct Nothing;
        impl Lookup for Nothing {
            fn lookup<'a>(&'a self, _host: &'a str) -> LookupFuture<'a> {
                Box::pin(async { Err(io::Error::other("no DNS here")) })
            }
        }
        let url = Url::parse("https://hooks.example.com/x").unwrap();
        assert_eq!(
            check_saved(&url, PrivateTargets::None, &Nothing).await,
            Ok(())
        );
        let private = Fixed(vec!["10.0.0.5".parse().unwrap()]);
        let refusal = check_saved(&url, PrivateTargets::None, &private)
            .await
            .unwrap_err();
        assert!(
            !refusal.to_string().contains("10.0.0.5"),
            "a resolved address is not shown: {refusal}"
        );
        assert_eq!(
            check_saved(&url, PrivateTargets::All, &private).await,
            Ok(())
        );
    }
}
