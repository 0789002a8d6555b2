//! Documentation generated from the clap definitions: shell completion scripts and the man page.
//! Both are derived from [`Cli`] at run time, so they can never list a flag the binary lacks.

use std::io::{self, Write};

use clap::CommandFactory;

use super::Cli;

/// Writes the completion script for `shell`. `clap_complete` panics when its writer fails, so
/// the script is built in memory first and a closed stdout stays an ordinary I/O error.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mpic-check", &mut script);
    out.write_all(&script)
}

/// Writes the man page (roff).
pub fn man(out: &mut impl Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
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
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains(".TH") && page.contains("format"), "{page}");
    }
}
