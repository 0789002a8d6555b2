//! The report schema: what the analysis concluded (`Finding`, `Verdict`, marks, coverage) and the
//! whole `Report` with its identifiers and perspectives, as the versioned JSON document of design
//! §8. The facts it carries are `crate::observation`'s; deciding what they mean is the analysis'
//! job, and rendering them the reports'.

mod code;
mod mark;

pub use code::FindingCode;
pub use mark::{Mark, ObservationMarks};

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::observation::{Check, Method, Observation, Rir, Role};

/// Version of the JSON document. Bump only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not threaten the renewal.
    Info,
    /// A CA with other vantage points may fail, or a margin is thin.
    Warning,
    /// The renewal fails or very likely fails.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A named problem with the evidence and the fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Stable code (design §6), e.g. `geodns-divergence`.
    pub code: FindingCode,
    /// Severity.
    pub severity: Severity,
    /// The identifier concerned.
    pub identifier: String,
    /// Perspectives or sources involved.
    pub perspectives: Vec<String>,
    /// What each side saw, in plain words.
    pub evidence: Vec<String>,
    /// What to change.
    pub fix: String,
}

/// Outcome of a check, an identifier or the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// All perspectives agree and the primary passes.
    Pass,
    /// Quorum met, but some disagree or a finding may bite elsewhere.
    AtRisk,
    /// Primary fails or quorum missed.
    Fail,
    /// Too few perspectives answered to decide.
    Unknown,
}

impl Outcome {
    /// Severity order used to combine outcomes: fail > unknown > at-risk > pass.
    pub fn rank(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::AtRisk => 1,
            Outcome::Unknown => 2,
            Outcome::Fail => 3,
        }
    }

    /// The worse of two outcomes.
    pub fn worst(self, other: Outcome) -> Outcome {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The text used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::AtRisk => "at-risk",
            Outcome::Fail => "fail",
            Outcome::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quorum arithmetic for one identifier and one corroborated check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The check (`caa`, `http-01`, `dns-01`).
    pub check: Check,
    /// Outcome for this check.
    pub outcome: Outcome,
    /// Remote perspectives that corroborate the primary.
    pub corroborating: usize,
    /// Remote perspectives that were asked and answered (tool failures excluded).
    pub remotes: usize,
    /// Corroborating remotes needed for this many remotes under the policy.
    pub required: usize,
    /// RIRs among the corroborating remotes.
    pub rirs: Vec<Rir>,
    /// Whether the primary passed.
    pub primary_ok: bool,
    /// Names of corroborating remotes.
    pub corroborating_perspectives: Vec<String>,
    /// Names of remotes that disagree with the primary.
    pub dissenting_perspectives: Vec<String>,
    /// The arithmetic in one line, e.g. "3/4 remotes corroborate, 3 needed, RIRs ARIN+RIPE".
    pub explanation: String,
    /// The same check judged under the next BR phase, when it starts within 60 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_phase: Option<String>,
    /// How far the counted remotes reached (docs/how-it-decides.md).
    #[serde(default)]
    pub reach: VerdictReach,
    /// Remotes that agreed with the primary but made the check from this host, so were not
    /// counted as corroborating.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_this_host: Vec<String>,
}

/// How far the remotes counted in a verdict reached.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictReach {
    /// Every counted remote made the check away from this host (remote resolver, proxy, probe,
    /// Open MPIC).
    #[default]
    Measured,
    /// Some counted remotes only emulated their region from this host (ECS).
    Emulated,
    /// No remote made the check away from this host: not tested from other regions.
    Untested,
}

impl VerdictReach {
    /// The word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictReach::Measured => "measured",
            VerdictReach::Emulated => "emulated",
            VerdictReach::Untested => "untested",
        }
    }
}

/// Policy in force for the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInfo {
    /// `br`, `letsencrypt` or `custom`.
    pub name: String,
    /// Minimum number of remote perspectives the policy expects a CA to use.
    pub remotes_required: usize,
    /// Non-corroborating remotes tolerated for that many remotes.
    pub allowed_failures: usize,
    /// Distinct RIRs required among corroborating remotes.
    pub rirs_required: usize,
    /// The date the policy was evaluated for (YYYY-MM-DD).
    pub as_of: String,
}

/// A perspective as reported (credentials redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerspectiveInfo {
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// RIR, when given.
    pub rir: Option<Rir>,
    /// DNS side, redacted.
    pub dns: String,
    /// HTTP side, redacted.
    pub http: String,
    /// For sources the tool discovered: the authoritative nameserver's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<String>,
    /// Configured latitude and longitude, for the 500 km rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
    /// Where its DNS questions are really made (absent in saved runs of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_provenance: Option<crate::observation::Provenance>,
    /// Where its HTTP fetches are really made (absent for sources, which fetch nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_provenance: Option<crate::observation::Provenance>,
}

/// The certificate a name belongs to, when names were read from a client's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertInfo {
    /// `certbot` or `acme.sh`.
    pub client: String,
    /// Lineage (certbot) or main domain (acme.sh).
    pub lineage: String,
    /// The configuration file it came from.
    pub source: String,
    /// Authenticator / mode, e.g. `webroot`, `nginx`, `dns-cloudflare`, `dns_cf`.
    pub authenticator: String,
    /// Expiry of the current certificate (RFC 3339), when known.
    pub not_after: Option<String>,
    /// Whole days until expiry (negative when expired).
    pub days_left: Option<i64>,
    /// Oddities noticed while reading the configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Which CAA issuer domain this certificate's CA has and where that came from, in one line:
    /// `CAA issuer pki.goog (from the ACME server in …/renewal/x.conf)`, or for a CA whose ACME
    /// directory is not a known one `unknown CA at https://… — CAA not judged; give --ca DOMAIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_note: Option<String>,
    /// The ACME directory URL (host and path only) of a CA whose CAA issuer domain is unknown; CAA is
    /// then not judged against any issuer domain (identifier `ca` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_ca: Option<String>,
}

/// The results for one identifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierReport {
    /// The normalised identifier.
    pub name: String,
    /// The DCV methods evaluated.
    pub methods: Vec<Method>,
    /// Worst of the verdicts.
    pub outcome: Outcome,
    /// One verdict per corroborated check.
    pub verdicts: Vec<Verdict>,
    /// Every observation, sorted by check then perspective.
    pub observations: Vec<Observation>,
    /// CAA issuer domain evaluated for this name.
    pub ca: String,
    /// The certificate this name belongs to (`--certbot`, `--acme-sh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertInfo>,
    /// The analysis's marks, one per observation in the same order. Not serialised: the JSON
    /// carries the facts and verdicts they follow from; renderers read them through
    /// [`IdentifierReport::marks_of`] instead of judging observations themselves.
    #[serde(skip)]
    pub marks: Vec<ObservationMarks>,
    /// What the CA's own validation said in an `--acme-dry-run` (absent without the flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_dry_run: Option<AcmeDryRun>,
}

impl IdentifierReport {
    /// The CA-like observations of one perspective (not the extra per-address fetches), in order:
    /// one matrix row of the table and of the HTML report.
    pub fn ca_like_of(&self, perspective: &str) -> Vec<&Observation> {
        self.observations
            .iter()
            .filter(|o| o.perspective == perspective && o.address.is_none())
            .collect()
    }

    /// The marks of one of this identifier's observations (found by identity, so it must be a
    /// reference into `observations`). A report the analysis never marked gets
    /// `UNJUDGED`, and debug builds say so loudly.
    pub fn marks_of(&self, o: &Observation) -> ObservationMarks {
        debug_assert_eq!(
            self.marks.len(),
            self.observations.len(),
            "identifier {} was not marked by the analysis",
            self.name
        );
        self.observations
            .iter()
            .position(|x| std::ptr::eq(x, o))
            .and_then(|i| self.marks.get(i))
            .copied()
            .unwrap_or(ObservationMarks::UNJUDGED)
    }
}

/// Whether a failure mode could be seen by this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// The finding code this is about (serialised as its kebab-case string, as before).
    pub failure_mode: FindingCode,
    /// Whether this run could have detected it.
    pub tested: bool,
    /// Why (not).
    pub why: String,
}

/// Name and version of the tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    /// Always `mpic-check`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// The whole result of a run: the JSON document of design §8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Document version (1).
    pub schema_version: u32,
    /// Tool name and version.
    pub tool: ToolInfo,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// The quorum policy.
    pub policy: PolicyInfo,
    /// CAA issuer domain evaluated.
    pub ca: String,
    /// Worst identifier outcome.
    pub outcome: Outcome,
    /// The process exit status this report maps to.
    pub exit_code: u8,
    /// Perspectives used.
    pub perspectives: Vec<PerspectiveInfo>,
    /// Per-identifier results.
    pub identifiers: Vec<IdentifierReport>,
    /// Findings across identifiers, most severe first.
    pub findings: Vec<Finding>,
    /// What this run could and could not see.
    pub coverage: Vec<Coverage>,
}

/// The CA's verdict in an `--acme-dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DryRunStatus {
    /// The CA validated the name (the authorization became valid; nothing was issued).
    Valid,
    /// The CA's validation failed; `problem` says why.
    Invalid,
    /// The dry run could not get a verdict (server unreachable, hook failed, time up): not the
    /// domain's fault, and no evidence either way.
    Error,
}

impl DryRunStatus {
    /// The text used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DryRunStatus::Valid => "valid",
            DryRunStatus::Invalid => "invalid",
            DryRunStatus::Error => "error",
        }
    }
}

/// The result of ordering one name from a real ACME server and answering its challenge, without
/// finalizing: the CA's own multi-perspective validation as ground truth beside the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcmeDryRun {
    /// The ACME directory URL asked (without any user:password part).
    pub server: String,
    /// The CA's verdict.
    pub status: DryRunStatus,
    /// The challenge answered (`http-01`, `dns-01`), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// The ACME problem document as the server sent it (RFC 8555 §6.7), with the token, key
    /// authorization, account key thumbprint and account URL replaced by placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<serde_json::Value>,
    /// The challenge's `validationRecord` entries as the server sent them (scrubbed the same way):
    /// which URL and address the CA's primary perspective used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_records: Vec<serde_json::Value>,
    /// Why there is no verdict (`status: error`), in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One line setting the CA's verdict beside mpic-check's: "the CA says: … — mpic-check saw: …".
    pub summary: String,
    /// Whether the CA's verdict and mpic-check's prediction agree; `false` is the line to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agrees: Option<bool>,
}
