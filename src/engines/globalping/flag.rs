//! `--globalping`: the Globalping engine one flag away. This module turns the flag's location
//! list (or the default: one probe per RIR service region) into the engine's locations, says
//! which API is used (`GLOBALPING_API_URL` overrides the public one, for tests and self-hosted
//! APIs), and words the one line the tool prints before the first measurement: that the names
//! go to a third party and what the run costs. Counting cost here, next to the engine, keeps the
//! estimate in step with what the engine really sends.

use url::Url;

use crate::config::engine::{CONTINENTS, DEFAULT_API_URL, Location, LocationSpec, TOKEN_ENV};
use crate::observation::Rir;

/// Environment variable that overrides the API address of `--globalping`.
pub const API_URL_ENV: &str = "GLOBALPING_API_URL";

/// Authoritative nameserver addresses asked from each probe, per zone. Every address costs one
/// test per probe, so the list is cut here; the first addresses of the first names are those a
/// resolver is most likely to ask.
pub const MAX_AUTH_SERVERS: usize = 4;

/// The default: one probe per RIR service region, picked by continent (North America for ARIN,
/// Europe for RIPE NCC, Asia for APNIC, South America for LACNIC, Africa for AFRINIC).
pub fn default_locations() -> Vec<Location> {
    [
        ("gp-na", "NA", Rir::Arin),
        ("gp-eu", "EU", Rir::Ripe),
        ("gp-as", "AS", Rir::Apnic),
        ("gp-sa", "SA", Rir::Lacnic),
        ("gp-af", "AF", Rir::Afrinic),
    ]
    .into_iter()
    .map(|(name, c, rir)| Location {
        name: name.into(),
        rir,
        spec: LocationSpec::Continent(c.into()),
    })
    .collect()
}

/// The RIR a continent code's probes stand for (Oceania is APNIC's; Antarctica has none).
fn continent_rir(c: &str) -> Option<Rir> {
    match c {
        "NA" => Some(Rir::Arin),
        "EU" => Some(Rir::Ripe),
        "AS" | "OC" => Some(Rir::Apnic),
        "SA" => Some(Rir::Lacnic),
        "AF" => Some(Rir::Afrinic),
        _ => None,
    }
}

/// ISO 3166-1 codes by RIR service region (the RIRs' own country lists, abridged to the
/// countries that host Globalping probes in numbers); a code not listed needs `@RIR`.
const COUNTRIES: [(Rir, &str); 5] = [
    (Rir::Arin, "US CA PR BS JM"),
    (
        Rir::Ripe,
        "DE FR GB NL IT ES PL SE NO FI DK CH AT BE IE PT CZ RO HU GR BG UA RU TR IL AE SA \
         KZ LT LV EE SK SI HR RS IS LU MD GE AM IR IQ",
    ),
    (
        Rir::Apnic,
        "JP CN KR IN SG HK TW AU NZ ID MY TH VN PH PK BD LK NP KH MM MN",
    ),
    (Rir::Lacnic, "BR AR CL CO PE MX VE EC UY PY BO CR PA GT DO"),
    (
        Rir::Afrinic,
        "ZA NG KE EG MA TN GH ET TZ UG DZ SN CI CM AO MZ ZM ZW RW MU",
    ),
];

/// Country names the API's "magic" matching knows, for the common ones, mapped to their code.
const COUNTRY_NAMES: [(&str, &str); 32] = [
    ("united states", "US"),
    ("usa", "US"),
    ("canada", "CA"),
    ("germany", "DE"),
    ("france", "FR"),
    ("united kingdom", "GB"),
    ("netherlands", "NL"),
    ("italy", "IT"),
    ("spain", "ES"),
    ("poland", "PL"),
    ("sweden", "SE"),
    ("switzerland", "CH"),
    ("russia", "RU"),
    ("turkey", "TR"),
    ("japan", "JP"),
    ("china", "CN"),
    ("south korea", "KR"),
    ("india", "IN"),
    ("singapore", "SG"),
    ("australia", "AU"),
    ("indonesia", "ID"),
    ("brazil", "BR"),
    ("argentina", "AR"),
    ("chile", "CL"),
    ("mexico", "MX"),
    ("colombia", "CO"),
    ("south africa", "ZA"),
    ("nigeria", "NG"),
    ("kenya", "KE"),
    ("egypt", "EG"),
    ("morocco", "MA"),
    ("hong kong", "HK"),
];

fn country_rir(code: &str) -> Option<Rir> {
    let code = code.to_ascii_uppercase();
    COUNTRIES
        .iter()
        .find(|(_, list)| list.split_whitespace().any(|c| c == code))
        .map(|(r, _)| *r)
}

/// `--globalping-locations LIST`: comma-separated Globalping locations, each a continent code
/// (`EU`), a country code (`DE`) or any location in the API's "magic" syntax (`Germany`,
/// `Frankfurt+DE`, `AS16509`), optionally followed by `@RIR` to say which RIR service region it
/// stands for. The RIR of continents and of common countries is known; others need `@RIR`.
pub fn parse_locations(list: &str) -> Result<Vec<Location>, String> {
    let mut out: Vec<Location> = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (what, rir) = match raw.rsplit_once('@') {
            Some((w, r)) => {
                let rir = Rir::parse(r.trim()).ok_or_else(|| {
                    format!(
                        "--globalping-locations {raw:?}: {r:?} is not an RIR (ARIN, RIPE, APNIC, \
                         LACNIC or AFRINIC)"
                    )
                })?;
                (w.trim(), Some(rir))
            }
            None => (raw, None),
        };
        let up = what.to_ascii_uppercase();
        let (spec, known) = if CONTINENTS.contains(&up.as_str()) {
            (LocationSpec::Continent(up.clone()), continent_rir(&up))
        } else if up.len() == 2 && up.bytes().all(|b| b.is_ascii_alphabetic()) {
            (LocationSpec::Country(up.clone()), country_rir(&up))
        } else {
            let lower = what.to_ascii_lowercase();
            let known = COUNTRY_NAMES
                .iter()
                .find(|(n, _)| *n == lower)
                .and_then(|(_, c)| country_rir(c));
            (LocationSpec::Magic(what.to_string()), known)
        };
        spec.validate()
            .map_err(|e| format!("--globalping-locations {raw:?}: {e}"))?;
        let rir = rir.or(known).ok_or_else(|| {
            format!(
                "--globalping-locations {raw:?}: say which RIR service region it stands for, \
                 e.g. {what}@RIPE"
            )
        })?;
        let slug: String = what
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut name = format!("gp-{}", slug.trim_matches('-'));
        let base = name.clone();
        let mut n = 2;
        while out.iter().any(|l| l.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(Location { name, rir, spec });
    }
    if out.is_empty() {
        return Err("--globalping-locations: give at least one location, e.g. EU,AS".into());
    }
    Ok(out)
}

/// The API of `--globalping`: `GLOBALPING_API_URL` when set, else the public API.
pub fn api_url_from_env() -> Result<Url, String> {
    let raw = std::env::var(API_URL_ENV)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let text = raw.as_deref().unwrap_or(DEFAULT_API_URL);
    let url = Url::parse(text).map_err(|e| format!("{API_URL_ENV}: not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "{API_URL_ENV}: only http:// and https:// URLs are supported"
        ));
    }
    Ok(url)
}

/// What one name asks of the engine, for the cost estimate.
#[derive(Debug, Clone, Copy)]
pub struct NameCost {
    /// A and AAAA are asked (not for a wildcard).
    pub address: bool,
    /// HTTP-01 is fetched.
    pub http01: bool,
    /// The dns-01 TXT is asked.
    pub dns01: bool,
}

/// Measurements per probe for these names, at most: A + AAAA, one HTTP-01 fetch (each redirect
/// costs one more), one TXT, and up to [`MAX_AUTH_SERVERS`] authoritative nameserver addresses.
pub fn measurements(names: &[NameCost]) -> u64 {
    names
        .iter()
        .map(|n| {
            let mut m = MAX_AUTH_SERVERS as u64;
            if n.address {
                m += 2;
            }
            if n.http01 {
                m += 1;
            }
            if n.dns01 {
                m += 1;
            }
            m
        })
        .sum()
}

/// The one line printed before the first use. Globalping counts one "test" per probe of a
/// measurement; 250 tests per hour per IP address are free anonymously, 500 per hour with a
/// token, and a signed-up account's credits pay for more (Globalping, "Upcoming Globalping API
/// Limit Changes", blog.globalping.io; the API's `X-Request-Cost` / `X-Credits-Remaining`
/// headers). The token itself never appears here: only whether one is set.
pub fn notice(api_url: &Url, probes: usize, measurements: u64, token: bool) -> String {
    let host = api_url.host_str().unwrap_or("the Globalping API");
    let tests = measurements * probes as u64;
    let allowance = if token {
        format!("{TOKEN_ENV} is set: 500 tests/hour, then the account's credits")
    } else {
        format!(
            "anonymous: 250 tests/hour per IP address; {TOKEN_ENV} raises it to 500 plus credits"
        )
    };
    format!(
        "mpic-check: note: Globalping sends the names checked and their nameservers' addresses \
         to a third party (the Globalping network by jsDelivr, via {host}); this run costs up to \
         {tests} Globalping tests ({measurements} measurements x {probes} probes; {allowance})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_one_probe_per_rir() {
        let l = default_locations();
        let mut rirs: Vec<Rir> = l.iter().map(|l| l.rir).collect();
        rirs.sort_by_key(|r| r.as_str());
        rirs.dedup();
        assert_eq!(rirs.len(), 5);
    }

    #[test]
    fn locations_parse_with_their_rir() {
        let l = parse_locations("Germany, JP,EU,Frankfurt+DE@RIPE").unwrap();
        let got: Vec<(&str, Rir)> = l.iter().map(|l| (l.name.as_str(), l.rir)).collect();
        assert_eq!(
            got,
            [
                ("gp-germany", Rir::Ripe),
                ("gp-jp", Rir::Apnic),
                ("gp-eu", Rir::Ripe),
                ("gp-frankfurt-de", Rir::Ripe)
            ]
        );
        assert_eq!(l[1].spec, LocationSpec::Country("JP".into()));
        assert!(
            parse_locations("Atlantis")
                .unwrap_err()
                .contains("Atlantis@RIPE")
        );
        assert!(
            parse_locations("DE@XYZ")
                .unwrap_err()
                .contains("not an RIR")
        );
        assert!(parse_locations(" , ").is_err());
        assert_eq!(parse_locations("DE,de").unwrap()[1].name, "gp-de-2");
    }

    #[test]
    fn the_notice_counts_tests_and_never_shows_a_token() {
        let url = Url::parse(DEFAULT_API_URL).unwrap();
        let m = measurements(&[NameCost {
            address: true,
            http01: true,
            dns01: false,
        }]);
        assert_eq!(m, 7);
        let n = notice(&url, 5, m, false);
        assert!(n.contains("up to 35 Globalping tests"), "{n}");
        assert!(n.contains("third party") && n.contains("api.globalping.io"));
        assert!(!n.contains('\n'));
    }
}
