//! Command-line flags (clap derive) with typed values. Parsing never touches the network; turning
//! flags into a validated run plan is `plan`'s job, so `--help` and bad flags stay instant.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Parser, ValueEnum};

use crate::config::PolicyName;

pub mod doc;

const EXAMPLES: &str = "\
EXAMPLES:
  Diagnose a renewal interactively:
    mpic-check example.com www.example.com

  Gate a renewal in CI or a timer (exit 0 = ready, 1 = at risk, 2 = would fail, 3 = could not assess):
    mpic-check --config /etc/mpic-check/config.toml --method http-01 example.com && certbot renew

  Renew with certbot, per certificate, only what would pass (runs certbot renew --cert-name X):
    mpic-check gate -- --no-random-sleep-on-renew

  Monitor from cron with a JSON document:
    mpic-check --format json --quiet example.com > /var/lib/mpic-check/example.com.json

  Check a known token and key authorization from every perspective:
    mpic-check --token TOKEN --expect-body TOKEN.THUMBPRINT example.com
";

/// Subcommands.
/// Identifiers checked at once when `--concurrency` is not given.
pub const DEFAULT_CONCURRENCY: usize = 32;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: mpic-check man > /usr/local/share/man/man1/mpic-check.1
    Man {
        /// Write every page instead (mpic-check.1 and one mpic-check-COMMAND.1 per subcommand)
        /// into DIR, which must exist.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Explain a CA's or ACME client's error message under MPIC and suggest the check to run.
    Explain {
        /// The error text; `-` (or nothing) reads standard input: `certbot renew 2>&1 |
        /// mpic-check explain` (certbot prints the CA's detail on stdout), or a letsencrypt.log.
        text: Vec<String>,
        /// Run the suggested mpic-check command for each recognised name.
        #[arg(long)]
        run: bool,
        /// Output: table-like text, or JSON.
        #[arg(short = 'f', long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        /// Config file passed on to the checks run with --run.
        #[arg(short = 'c', long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// For DNS-01 auth hooks: wait until the TXT values are on every authoritative nameserver and
    /// a quorum of perspectives sees them; exit 0, or 2 on timeout naming what is missing.
    /// Several names (apex + wildcard, a SAN list) are waited for together with --records.
    #[command(name = "wait-txt")]
    WaitTxt {
        /// The domain (example.com, *.example.com) or its _acme-challenge name.
        #[arg(required_unless_present = "records")]
        name: Option<String>,
        /// TXT values that must all be present at NAME.
        values: Vec<String>,
        /// More names and values, one `NAME VALUE` per line (`-` = stdin), all waited for at once.
        #[arg(long, value_name = "FILE")]
        records: Option<PathBuf>,
        #[command(flatten)]
        hook: HookArgs,
        /// Give up after this long.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Renewal gate: check every certificate certbot would renew now and run
    /// `certbot renew --cert-name X` only for those that would pass; hold the others, one line each.
    #[command(after_help = GATE_HELP)]
    Gate(GateArgs),
    /// Watch the TXT at _acme-challenge on every nameserver and perspective and report values that
    /// disappear early, RRsets replaced instead of extended, and servers that lag.
    Watch {
        /// The domain (example.com, *.example.com) or its _acme-challenge name.
        name: String,
        /// Watch DNS-01 (the only mode).
        #[arg(long = "dns-01", default_value_t = true)]
        dns01: bool,
        #[command(flatten)]
        hook: HookArgs,
        /// How long to watch (Ctrl-C ends earlier, with the summary).
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration_long)]
        duration: Duration,
        /// Pause between polls (at least 1s).
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
        interval: Duration,
    },
    /// Run as a Prometheus exporter (blackbox style): GET /probe?target=NAME[&module=M] checks one
    /// name and answers in the text exposition format; /metrics describes the exporter itself.
    Serve(ServeArgs),
    /// Write, check or show the perspective configuration: `config init` writes a commented
    /// starting file, `config check [FILE]` validates it and says what it can see from where,
    /// `config show` prints the effective set (secrets redacted).
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `mpic-check config …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigCommand {
    /// Write a commented starting file: the built-in set, ready to edit, with `ssh -D` SOCKS and
    /// engine examples [default: $XDG_CONFIG_HOME/mpic-check/config.toml]. An existing file is
    /// kept unless --force.
    Init {
        /// Where to write (`-` = stdout).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate a config file (default: the one a run would use) and print its perspectives with
    /// where their DNS and HTTP are really made, and what the set can and cannot see; exit 0, or 3
    /// with `file:line: key: message`.
    Check {
        /// The file [default: as a run finds it].
        file: Option<PathBuf>,
        #[command(flatten)]
        adhoc: AdhocArgs,
    },
    /// Print the effective configuration (the file or the built-in set, with --perspective and
    /// --resolver applied), proxy credentials redacted.
    Show {
        /// Config file [default: as a run finds it].
        #[arg(short = 'c', long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        adhoc: AdhocArgs,
    },
}

/// Perspectives on the command line (the main check and `config check/show`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AdhocArgs {
    /// A perspective as the config file's keys, e.g. 'name=eu,role=remote,rir=RIPE,
    /// dns=authoritative,http=socks5://127.0.0.1:1080' (repeatable). The perspectives given
    /// replace the remotes and sources of the config file or built-in set; its primary is kept
    /// unless one has role=primary. role defaults to remote.
    #[arg(long = "perspective", value_name = "KEY=VALUE,…")]
    pub perspectives: Vec<String>,
    /// One more DNS source to compare (never counted in the quorum): IP[:port] for UDP, or
    /// udp://, tcp://, https://…/dns-query (repeatable; always added).
    #[arg(long = "resolver", value_name = "ADDR")]
    pub resolvers: Vec<String>,
}

/// Default address of `serve`: loopback only, port 9817 (not taken by a well-known exporter).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9817";

/// Options of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port; the actual address is printed on stderr).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Config file with the perspectives and the `[modules.NAME]` tables.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A target is checked at most once per this interval; scrapes in between get the last result.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration_long)]
    pub min_interval: Duration,
    /// Checks running at once; a /probe beyond that is answered 503 at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_concurrent: u16,
}

const GATE_HELP: &str = "\
EXAMPLES:
  From a systemd timer or cron, instead of `certbot renew`:
    mpic-check gate -- --no-random-sleep-on-renew --quiet

  See what would happen, without running certbot:
    mpic-check gate --print --all

GATE EXIT CODES (the worst applies):
  0  every due certificate was renewed (or nothing was due)
  1  a certificate at risk was held (--hold-at-risk)
  2  a certificate was held because its renewal would fail MPIC
  3  bad input, or a certificate that could not be assessed was held (--on-unknown hold)
  4  certbot failed (or could not be started) for at least one certificate";

/// What the gate does with a certificate that could not be assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnUnknown {
    /// Renew anyway, with a warning: a checker outage must not let certificates expire.
    Renew,
    /// Hold it (exit 3).
    Hold,
}

/// `mpic-check gate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// certbot's configuration directory (renewal/*.conf); passed on to certbot as --config-dir.
    #[arg(long, visible_alias = "certbot-dir", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Check every certificate, not only those certbot would renew now, and pass them all to
    /// certbot (which still skips those not due unless given --force-renewal).
    #[arg(long)]
    pub all: bool,
    /// Hold certificates that are at risk instead of renewing them with a warning.
    #[arg(long)]
    pub hold_at_risk: bool,
    /// What to do with a certificate that could not be assessed (unreadable conf, perspectives
    /// down).
    #[arg(long, value_enum, value_name = "ACTION", default_value_t = OnUnknown::Renew)]
    pub on_unknown: OnUnknown,
    /// Print the decisions only; do not run certbot.
    #[arg(long)]
    pub print: bool,
    /// The certbot executable.
    #[arg(long, value_name = "PATH", default_value = "certbot")]
    pub certbot_bin: PathBuf,
    /// Config file with the perspectives (as for the main command).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Timeout for each network step [default: 5s, or the config's].
    #[arg(short = 't', long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Quorum policy.
    #[arg(long, value_enum)]
    pub policy: Option<PolicyName>,
    /// Evaluate the BR phase in force on this date [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Arguments passed to every `certbot renew` after `--`, e.g. `-- --no-random-sleep-on-renew`.
    #[arg(last = true, value_name = "CERTBOT_ARGS")]
    pub certbot_args: Vec<String>,
}

/// Output of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Plain text.
    Text,
    /// A JSON array of explanations.
    Json,
}

/// Options shared by the hook subcommands.
#[derive(Debug, Clone, clap::Args)]
pub struct HookArgs {
    /// Config file with the perspectives (as for the main command).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Timeout of each DNS question.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub step_timeout: Option<Duration>,
    /// Quorum policy for "a quorum of perspectives".
    #[arg(long, value_enum)]
    pub policy: Option<PolicyName>,
    /// No progress lines on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `--fail-on`'s values live with the exit-code table they gate (report and exit must not import
/// the flags layer); re-exported here so the flags read as one list.
pub use crate::exit::FailOn;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per name, findings with fixes, the verdict (default).
    Table,
    /// One JSON document (schema_version 1), for monitoring.
    Json,
    /// Nagios/Icinga plugin output: one status line with perfdata; exit code = state.
    Nagios,
    /// Prometheus text exposition, for the node_exporter textfile collector.
    Prometheus,
    /// JSON Lines: one object per identifier as soon as it is done, then a summary line.
    Jsonl,
    /// One self-contained HTML page (map, matrix, findings) to attach to a ticket.
    Html,
    /// GitHub-flavoured Markdown (summary table + findings) for $GITHUB_STEP_SUMMARY and tickets.
    Markdown,
}

/// Which ACME challenge the renewal will use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// http-01 for normal names, dns-01 for wildcards.
    Auto,
    /// ACME http-01 (port 80).
    #[value(name = "http-01")]
    Http01,
    /// ACME dns-01 (TXT at _acme-challenge).
    #[value(name = "dns-01")]
    Dns01,
    /// ACME tls-alpn-01 (RFC 8737: port 443, ALPN acme-tls/1; Caddy, Traefik, lego).
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
}

/// What kind of certificate is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertType {
    /// TLS server certificate: CAA issue/issuewild, http-01 or dns-01.
    Tls,
    /// S/MIME for an email domain (ballot SMC010): CAA issuemail (RFC 9495), DNS checks only.
    Smime,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Only on a terminal and without NO_COLOR.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The first of `words` that names a subcommand. clap reads `mpic-check --config X wait-txt …`
/// as a check of the name "wait-txt" (options of the main check came first, so the subcommand is
/// no longer recognised); a subcommand's name is never a name a CA would validate.
pub fn subcommand_among<S: AsRef<str>>(words: &[S]) -> Option<&str> {
    use clap::CommandFactory;
    let command = Cli::command();
    words
        .iter()
        .map(AsRef::as_ref)
        .find(|w| command.get_subcommands().any(|c| c.get_name() == *w))
}

/// For a command line that failed to parse: when it starts with an option and a subcommand's name
/// comes later (`mpic-check --timeout 2s gate --print`), the one line saying where options go,
/// instead of clap's complaint about the subcommand's own flags.
pub fn misplaced_subcommand(args: &[String]) -> Option<String> {
    let rest = args.get(1..)?;
    if !rest.first().is_some_and(|a| a.starts_with('-')) {
        return None;
    }
    let before_dashes = rest
        .iter()
        .take_while(|a| *a != "--")
        .cloned()
        .collect::<Vec<_>>();
    subcommand_among(&before_dashes).map(misplaced_subcommand_message)
}

/// The message for a subcommand given after options of the main check.
pub fn misplaced_subcommand_message(sub: &str) -> String {
    format!(
        "{sub:?} is a subcommand, but it came after options of the main check: put the \
         subcommand first and its options after it (mpic-check {sub} --help lists them), e.g. \
         `mpic-check {sub} --config FILE …`"
    )
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 5s, 1500ms, 1m)"))?;
    if d.is_zero() || d > Duration::from_secs(600) {
        return Err("must be between 1ms and 10m".into());
    }
    Ok(d)
}

fn parse_duration_long(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 10m, 1h)"))?;
    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
        return Err("must be between 1ms and 24h".into());
    }
    Ok(d)
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    s.parse::<NaiveDate>()
        .map_err(|_| format!("{s:?} is not a date like 2026-12-15"))
}

/// Will this certificate renewal survive Multi-Perspective Issuance Corroboration (MPIC)?
///
/// Queries each name's addresses, CAA and the HTTP-01 challenge path (or the dns-01 TXT) from
/// several configured network perspectives, shows where they disagree and why, and predicts
/// whether a CA's quorum of remote perspectives would corroborate the validation.
#[derive(Debug, Parser)]
#[command(
    name = "mpic-check",
    version,
    after_help = format!("{EXAMPLES}\n{}", crate::exit::Exit::TABLE),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// Helpers that do not check names.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Names to check (e.g. example.com, *.example.com, bücher.de).
    #[arg(value_name = "NAME", required_unless_present_any = ["replay", "from_file", "certbot", "acme_sh"])]
    pub names: Vec<String>,

    /// Check every certificate certbot renews: names from the current certificates, method from
    /// the authenticator, CA and account from the renewal configuration [default dir:
    /// /etc/letsencrypt]. Webroots are probed when the authenticator is webroot.
    /// Given twice (a wrapper's `--certbot` plus `MPIC_ARGS="--certbot DIR"`), the last one wins.
    #[arg(long, value_name = "DIR", num_args = 0..=1, overrides_with = "certbot")]
    pub certbot: Option<Option<PathBuf>>,

    /// Check every certificate acme.sh renews [default dir: ~/.acme.sh].
    #[arg(long = "acme-sh", value_name = "DIR", num_args = 0..=1, overrides_with = "acme_sh")]
    pub acme_sh: Option<Option<PathBuf>>,

    /// Read names from FILE (`-` = stdin): one `name` or `name method` per line; `#` comments.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,

    /// Save the raw observations of this run to FILE (JSON), for --replay.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// Re-run analysis and rendering on observations saved with --save; no network.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["names", "from_file", "save", "webroot", "certbot", "acme_sh"])]
    pub replay: Option<PathBuf>,

    /// Config file with the perspectives (default: $XDG_CONFIG_HOME/mpic-check/config.toml,
    /// then /etc/mpic-check/config.toml, then the built-in set).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    #[command(flatten)]
    pub adhoc: AdhocArgs,

    /// Challenge the renewal will use.
    #[arg(short = 'm', long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,

    /// CAA issuer domain of the CA [default: letsencrypt.org, or the config's].
    #[arg(long, value_name = "DOMAIN")]
    pub ca: Option<String>,

    /// Certificate type: tls, or smime for an email domain (CAA issuemail, no HTTP-01).
    #[arg(long, value_enum, default_value_t = CertType::Tls)]
    pub cert_type: CertType,

    /// ACME account URI, to evaluate CAA accounturi restrictions.
    #[arg(long, value_name = "URI")]
    pub account_uri: Option<String>,

    /// Quorum policy: br (BR minimum on --as-of), letsencrypt (4 remotes, 3 needed), custom.
    #[arg(long, value_enum)]
    pub policy: Option<PolicyName>,

    /// Remote perspectives a custom policy assumes.
    #[arg(long, value_name = "N", requires = "quorum")]
    pub remotes: Option<usize>,

    /// Corroborating remotes a custom policy requires.
    #[arg(long, value_name = "Q", requires = "remotes")]
    pub quorum: Option<usize>,

    /// Evaluate the BR phase in force on this date [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,

    /// Timeout for each network step [default: 5s, or the config's].
    #[arg(short = 't', long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// HTTP-01 token to fetch (default: a random one, and the kind of answer is compared).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Exact body (key authorization) the token must return.
    #[arg(long, value_name = "BODY", requires = "token")]
    pub expect_body: Option<String>,

    /// tls-alpn-01: the key authorization whose SHA-256 the challenge certificate's
    /// acmeIdentifier must carry (default: --expect-body; without either, the digest is not
    /// compared).
    #[arg(long, value_name = "KEYAUTH")]
    pub key_authorization: Option<String>,

    /// Web root that serves these names: write a probe file under .well-known/acme-challenge/,
    /// fetch it from every perspective, rewrite it (a cache shows the old content), delete it.
    /// Nothing existing is touched; the file is removed also on Ctrl-C, SIGTERM or error.
    #[arg(long, value_name = "DIR", conflicts_with = "token")]
    pub webroot: Option<PathBuf>,

    /// dns-01 TXT value that must be present (repeat for apex + wildcard).
    #[arg(long, value_name = "VALUE")]
    pub expect_txt: Vec<String>,

    /// Gate threshold: `warning` (default) fails the gate on at-risk too; `error` only on
    /// would-fail and could-not-assess.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,

    /// Bound the whole run: perspectives and names not finished by then are reported as not
    /// assessed (a deadline-exceeded finding), never as the domain's fault [default: 50s with
    /// --format nagios, below Nagios's 60 s check timeout; else none].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_long)]
    pub deadline: Option<Duration>,

    /// Add third-party context (needs the internet): Let's Encrypt's status page and the
    /// certificates issued this week from Certificate Transparency (crt.sh) against Let's
    /// Encrypt's rate limits, as info findings marked third-party data. Off by default; a source
    /// that cannot be reached is skipped with a one-line note.
    #[arg(long)]
    pub online_context: bool,

    /// Identifiers checked at once (each from every perspective in parallel).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize))]
    pub concurrency: usize,

    /// Ask every name's shared parents again (the CAA names above it, its zone's ancestors' NS,
    /// nameserver addresses) instead of reusing one perspective's fresh answer within the run
    /// (also `MPIC_CHECK_NO_SHARE=1`). The verdicts are the same; only the work differs.
    #[arg(long, hide = true)]
    pub no_share: bool,

    /// Colour in the table output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// No progress bar and no summary on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// More detail: every observation in the table.
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Ground truth: after the prediction, order the names from this ACME server (default: Let's
    /// Encrypt staging), answer the challenges (--webroot or --dns-hook) and report the CA's own
    /// validation; the authorizations are then deactivated and the order is never finalized, so
    /// nothing is issued. Contacts that server and creates an account there (kept under
    /// $XDG_STATE_HOME/mpic-check/).
    #[arg(long, value_name = "DIRECTORY_URL", num_args = 0..=1, default_missing_value = ACME_STAGING)]
    pub acme_dry_run: Option<String>,

    /// PEM file with the root certificate(s) of the --acme-dry-run server's TLS certificate, for
    /// a private CA (added to the public roots).
    #[arg(long, value_name = "PEM", requires = "acme_dry_run")]
    pub acme_ca_file: Option<PathBuf>,

    /// --acme-dry-run answers dns-01 by running CMD (through sh) like certbot's --manual-auth-hook,
    /// with CERTBOT_DOMAIN and CERTBOT_VALIDATION set.
    #[arg(long, value_name = "CMD", requires = "acme_dry_run")]
    pub dns_hook: Option<String>,

    /// Run after the dns-01 validation like certbot's --manual-cleanup-hook (CERTBOT_AUTH_OUTPUT
    /// holds the auth hook's output).
    #[arg(long, value_name = "CMD", requires = "dns_hook")]
    pub dns_cleanup_hook: Option<String>,
    /// Add Globalping probes (jsDelivr's public network) as remotes, one per RIR region: they
    /// resolve A/AAAA and TXT, fetch HTTP-01 and ask the authoritative nameservers from their own
    /// networks. Sends the names to api.globalping.io (GLOBALPING_API_URL overrides it); uses
    /// GLOBALPING_TOKEN when set. Replaces a Globalping [[engine]] of the config file.
    #[arg(long)]
    pub globalping: bool,

    /// Globalping locations instead of the five regions: comma-separated continent or country
    /// codes or Globalping "magic" locations, each optionally `@RIR` (e.g. `Germany,Japan`,
    /// `EU,AS`, `Frankfurt+DE@RIPE`). Implies --globalping.
    #[arg(long, value_name = "LIST")]
    pub globalping_locations: Option<String>,
}

/// Let's Encrypt's staging directory: the same multi-perspective validation as production, with
/// far higher failed-validation limits, and only untrusted test certificates.
pub const ACME_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn typed_values() {
        let c = Cli::try_parse_from([
            "mpic-check",
            "-f",
            "json",
            "--method",
            "dns-01",
            "--timeout",
            "1500ms",
            "--as-of",
            "2026-12-15",
            "a.test",
        ])
        .unwrap();
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.method, MethodArg::Dns01);
        assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.as_of.unwrap().to_string(), "2026-12-15");
        assert!(Cli::try_parse_from(["mpic-check", "--timeout", "0s", "a.test"]).is_err());
        assert!(Cli::try_parse_from(["mpic-check", "--as-of", "tomorrow", "a.test"]).is_err());
        assert!(Cli::try_parse_from(["mpic-check"]).is_err());
        assert!(Cli::try_parse_from(["mpic-check", "--expect-body", "x", "a.test"]).is_err());
        let c = Cli::try_parse_from(["mpic-check", "completions", "bash"]).unwrap();
        assert!(matches!(c.command, Some(Command::Completions { .. })));
        assert!(
            Cli::try_parse_from(["mpic-check", "man"])
                .unwrap()
                .command
                .is_some()
        );
    }

    #[test]
    fn serve_defaults_and_limits() {
        let c = Cli::try_parse_from(["mpic-check", "serve"]).unwrap();
        let Some(Command::Serve(a)) = c.command else {
            panic!("not serve")
        };
        assert_eq!(a.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(a.min_interval, Duration::from_secs(60));
        assert_eq!(a.max_concurrent, 4);
        for bad in [
            ["--listen", "localhost"],
            ["--max-concurrent", "0"],
            ["--min-interval", "soon"],
        ] {
            let mut argv = vec!["mpic-check", "serve"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn help_has_the_three_uses_and_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for s in [
            "certbot renew",
            "--format json",
            "EXIT CODES",
            "3  could not assess",
        ] {
            assert!(help.contains(s), "help lacks {s}");
        }
    }
}
