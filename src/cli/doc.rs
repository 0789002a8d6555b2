//! Documentation generated from the clap definitions: shell completion scripts and the man pages.
//! Both are derived from [`Cli`] at run time, so they can never list a flag the binary lacks. The
//! main page adds the sections clap knows nothing about (configuration format, environment, files,
//! exit status), and every subcommand gets its own page, because clap_mangen's SUBCOMMANDS section
//! points readers at `mpic-check-SUB(1)` and a reference to a missing page is a dead end.

use std::io::{self, Write};

use clap::CommandFactory;
use roff::{Roff, bold, italic, roman};

use super::{Cli, EXAMPLES};

/// Writes the completion script for `shell`. `clap_complete` panics when its writer fails, so
/// the script is built in memory first and a closed stdout stays an ordinary I/O error.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mpic-check", &mut script);
    out.write_all(&script)
}

/// The command as the man pages see it: built, so every subcommand carries its display name
/// (`mpic-check-wait-txt`) and bin name (`mpic-check wait-txt`), and without clap's implicit
/// `help` subcommand, which would otherwise be listed as a page that is never generated.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Writes the main man page, mpic-check(1) (roff).
pub fn man(out: &mut impl Write) -> io::Result<()> {
    let cmd = command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    extra_sections(&cmd).to_writer(out)?;
    man.render_version_section(out)
}

/// Every man page as (file name, roff): `mpic-check.1` and one `mpic-check-SUB.1` per
/// subcommand, so each page named in the SUBCOMMANDS section exists.
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut pages = Vec::new();
    let mut main = Vec::new();
    man(&mut main)?;
    pages.push(("mpic-check.1".to_string(), main));
    for sub in command().get_subcommands().filter(|s| !s.is_hide_set()) {
        // Without a source, the footer would read "wait-txt" with no program or version.
        let page = clap_mangen::Man::new(sub.clone())
            .source(format!("mpic-check {}", env!("CARGO_PKG_VERSION")));
        let mut text = Vec::new();
        page.render(&mut text)?;
        let mut see_also = Roff::new();
        see_also.control("SH", ["SEE ALSO"]);
        see_also.text([bold("mpic-check"), roman("(1)")]);
        see_also.to_writer(&mut text)?;
        pages.push((page.get_filename(), text));
    }
    Ok(pages)
}

/// The sections a sysadmin looks for in a system tool's page and clap cannot derive.
fn extra_sections(cmd: &clap::Command) -> Roff {
    let mut r = Roff::new();
    let para = |r: &mut Roff, text: &str| {
        r.control("PP", []);
        r.text([roman(text)]);
    };
    let item = |r: &mut Roff, tag: &str, text: &str| {
        r.control("TP", []);
        r.text([bold(tag)]);
        r.text([roman(text)]);
    };

    r.control("SH", ["EXAMPLES"]);
    for block in EXAMPLES.trim_start_matches("EXAMPLES:\n").split("\n\n") {
        let mut lines = block.lines().map(str::trim).filter(|l| !l.is_empty());
        if let Some(what) = lines.next() {
            para(&mut r, what);
            r.control("RS", []);
            r.control("nf", []);
            for l in lines {
                r.text([roman(l)]);
            }
            r.control("fi", []);
            r.control("RE", []);
        }
    }

    r.control("SH", ["CONFIGURATION"]);
    para(
        &mut r,
        "A configuration file (TOML) lists the perspectives: the vantage points the checks run \
         from. A file replaces the built-in set; the tool then contacts only what the file names, \
         plus the authoritative nameservers it discovers through them. Unknown keys are errors, \
         and every error names the file, the line and the key.",
    );
    item(
        &mut r,
        "[defaults]",
        "timeout = \"5s\" (per network step); ca = \"letsencrypt.org\" (CAA issuer domain); \
         policy = \"br\" | \"letsencrypt\" | \"custom\"; authoritative_sources = true (also ask \
         every authoritative nameserver address directly).",
    );
    item(
        &mut r,
        "[[perspective]]",
        "name (unique, [a-z0-9-]); role = \"primary\" (exactly one) | \"remote\" | \"source\" \
         (compared but not counted); rir = ARIN | RIPE | APNIC | LACNIC | AFRINIC (required for \
         remotes); location = [latitude, longitude]; dns = system | authoritative | \
         udp://IP[:port] | tcp://IP[:port] | https://HOST/dns-query; ecs = \"CIDR\" (EDNS Client \
         Subnet); http = direct | socks5://HOST:PORT | socks5h://HOST:PORT | http://HOST:PORT; \
         doh_ca = PEM file (DoH only).",
    );
    item(
        &mut r,
        "[[engine]]",
        "kind = \"globalping\" with api_url, token_env and locations = [{ name, rir, and one of \
         continent, country, magic or tag }]; or kind = \"open-mpic\" with url and api_key_env. \
         Engines send the checked names to a third party and are off unless configured.",
    );
    para(
        &mut r,
        "The packaged /etc/mpic-check/config.toml spells out the built-in set with comments and \
         examples for ssh -D proxies and Globalping. The full reference is docs/config.md in the \
         source tree, installed under /usr/share/doc/mpic-check/.",
    );

    r.control("SH", ["ENVIRONMENT"]);
    item(
        &mut r,
        "XDG_CONFIG_HOME, HOME",
        "Locate the user's configuration file ($XDG_CONFIG_HOME/mpic-check/config.toml, else \
         ~/.config/mpic-check/config.toml).",
    );
    item(
        &mut r,
        "NO_COLOR",
        "When set and not empty, no colour even on a terminal (with --color auto).",
    );
    item(
        &mut r,
        "GLOBALPING_TOKEN",
        "Globalping API token (the default token_env of a globalping engine). Never printed.",
    );
    item(
        &mut r,
        "OPEN_MPIC_API_KEY",
        "Open MPIC API key, sent as x-api-key (the default api_key_env of an open-mpic engine). \
         Never printed.",
    );
    item(
        &mut r,
        "MPIC_CHECK_ALLOW_RANGES",
        "CIDR[,CIDR...]: lets a domain's data lead the tool to addresses in these ranges, which the \
         address policy otherwise refuses (private, loopback, ...). For tests and labs only.",
    );
    item(
        &mut r,
        "MPIC_CHECK_HTTP_PORT, MPIC_CHECK_TLS_PORT, MPIC_CHECK_DNS_PORT",
        "Send HTTP-01 fetches to another port than 80, TLS-ALPN-01 handshakes to another port \
         than 443, and ask authoritative servers on another port than 53. For tests and labs \
         only; never set them in production.",
    );

    r.control("SH", ["FILES"]);
    item(
        &mut r,
        "$XDG_CONFIG_HOME/mpic-check/config.toml, ~/.config/mpic-check/config.toml",
        "The user's configuration, used first when --config is not given.",
    );
    item(
        &mut r,
        "/etc/mpic-check/config.toml",
        "The system configuration, used when the user has none. Without either file the \
         built-in set is used.",
    );
    item(
        &mut r,
        "/etc/letsencrypt, ~/.acme.sh",
        "Read (never written) by --certbot and --acme-sh.",
    );
    item(
        &mut r,
        "/usr/share/doc/mpic-check/",
        "Examples (renewal gate, DNS-01 hook, systemd units, CI workflow) and the user \
         documentation.",
    );

    r.control("SH", ["EXIT STATUS"]);
    for line in crate::exit::Exit::TABLE.lines().skip(1) {
        if let Some((code, meaning)) = line.trim().split_once("  ") {
            item(&mut r, code, meaning.trim());
        }
    }
    para(
        &mut r,
        "They follow the Nagios plugin convention (OK, WARNING, CRITICAL, UNKNOWN). --fail-on \
         error makes \"at risk\" exit 0.",
    );

    r.control("SH", ["SEE ALSO"]);
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("mpic-check-{}(1)", s.get_name()))
        .collect();
    r.text([
        roman(subs.join(", ")),
        roman(", "),
        bold("certbot"),
        roman("(1), "),
        italic("https://cabforum.org/working-groups/server/baseline-requirements/"),
    ]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_and_man_page_name_the_flags() {
        let mut bash = Vec::new();
        completions(clap_complete::Shell::Bash, &mut bash).unwrap();
        let bash = String::from_utf8(bash).unwrap();
        assert!(bash.contains("--format"), "{bash}");
        let mut page = Vec::new();
        man(&mut page).unwrap();
        // roff escapes hyphens and quotes arguments with spaces; read it as man would show it.
        let page = String::from_utf8(page)
            .unwrap()
            .replace("\\-", "-")
            .replace('"', "");
        assert!(page.contains(".TH") && page.contains("format"), "{page}");
        for section in [
            "ENVIRONMENT",
            "FILES",
            "CONFIGURATION",
            "EXIT STATUS",
            "EXAMPLES",
        ] {
            assert!(page.contains(&format!(".SH {section}")), "{section}");
        }
    }

    #[test]
    fn every_page_the_main_page_names_exists() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let main = String::from_utf8(pages[0].1.clone())
            .unwrap()
            .replace("\\-", "-");
        for sub in command().get_subcommands() {
            let page = format!("mpic-check-{}", sub.get_name());
            assert!(main.contains(&format!("{page}(1)")), "{page} not named");
            assert!(names.contains(&format!("{page}.1").as_str()), "{names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        let wait = pages
            .iter()
            .find(|(n, _)| n == "mpic-check-wait-txt.1")
            .unwrap();
        let wait = String::from_utf8(wait.1.clone())
            .unwrap()
            .replace("\\-", "-")
            .replace('"', "");
        assert!(wait.contains(".TH mpic-check-wait-txt 1"), "{wait}");
        assert!(wait.contains("mpic-check wait-txt"), "{wait}");
        assert!(wait.contains(".SH SEE ALSO"), "{wait}");
    }
}
