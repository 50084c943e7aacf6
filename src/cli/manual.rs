//! `seedance-mini man`: one page that documents every command, the batch
//! file format and the exit codes (clap_mangen renders the parts it knows;
//! the commands are sections of this page, not pages of their own).

use std::io::Write;

use super::Cli;

/// The page, as roff.
pub(crate) fn page() -> std::io::Result<Vec<u8>> {
    let command = <Cli as clap::CommandFactory>::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands() {
        commands(&mut out, "seedance-mini", sub)?;
    }
    out.extend_from_slice(BATCH_AND_EXIT.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// One command's section (`.SS`), its options, then its own subcommands.
fn commands(out: &mut Vec<u8>, parent: &str, sub: &clap::Command) -> std::io::Result<()> {
    let name = format!("{parent} {}", sub.get_name());
    writeln!(out, ".SS \"{}\"", escape(&name))?;
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        writeln!(out, "{}", escape(&about.to_string()))?;
    }
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        let mut options = Vec::new();
        clap_mangen::Man::new(sub.clone()).render_options_section(&mut options)?;
        // Its own headings would make sections of their own, and the
        // string definitions are already on the page: keep the list.
        let text = String::from_utf8_lossy(&options);
        for line in text.lines() {
            if !(line.starts_with(".SH") || line.starts_with(".ie ") || line.starts_with(".el ")) {
                writeln!(out, "{line}")?;
            }
        }
    }
    for nested in sub.get_subcommands() {
        commands(out, &name, nested)?;
    }
    Ok(())
}

/// Roff's special characters, as clap_mangen writes them.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq")
}

const BATCH_AND_EXIT: &str = r#".SH "BATCH FILES"
A batch file holds one JSON object per line (JSON Lines); blank lines and
lines starting with // are skipped. Its keys are the \fBgenerate\fR options in
snake_case: prompt, provider, resolution, duration, aspect_ratio, seed,
camera_fixed, image, image_end, reference_image, reference_video,
reference_audio, audio, watermark, web_search, webhook_url, safety_checker,
return_last_frame, safety_identifier, and output (a plain file name).
resolution, duration and aspect_ratio may be lists: the line expands into
their cross product. Relative file paths are taken from the batch file's
folder. Every line is checked before anything is paid for. A job is what it
asks for: inserting or reordering lines never pays again for a job, and a
whole video already at a job's path is skipped.
.SH "EXIT STATUS"
.TP
0
done
.TP
1
the task failed, or a webhook did not verify
.TP
2
bad input (the message names the flag or the batch line and key)
.TP
3
an API or transport error, or a failed set-up (the TLS or HTTP client)
.TP
4
waiting ran out of time
.TP
5
a batch create is in doubt: it may have made a paid task
.TP
6
the journal, or its disk, failed
.TP
130
interrupted (Ctrl\-C or SIGTERM)
"#;
