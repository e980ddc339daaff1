//! Shell command analysis for `Bash(...)` tool rules.
//!
//! A rule such as `Bash(git push *)` names a command and a pattern for its
//! arguments. Comparing that pattern with the raw command text as one string
//! is easy to walk around (`git -C . push`, `ls && rm -rf /`,
//! `sudo rm -rf /`, `bash -c "rm -rf /"`, ...). This module instead works out
//! every *simple command* a command string would run and matches the rule
//! against each of them. It depends on nothing else in Warden; quote removal
//! and word splitting use the `shlex` crate (POSIX rules), and a small scanner
//! of our own splits compound commands on operators while respecting quotes.
//!
//! # Splitting a command string: [`simple_commands`]
//!
//! The result is a list of simple commands, each as its argument vector after
//! quote removal (`r""m` and `\rm` both become `rm`). Exact duplicates are
//! listed once; order carries no meaning.
//!
//! * **Operators.** The string is split on `;`, `&`, `&&`, `||`, `|`, `|&`
//!   and newlines, and on the grouping syntax `( … )` and `{ …; }`.
//!   Operators inside single or double quotes are ordinary text, so
//!   `echo 'a; b'` and `grep -r "a|b" src` are one command each. A `#` at the
//!   start of a word starts a comment that runs to the end of the line. A
//!   backslash-newline joins two lines.
//! * **Keywords.** `if then elif else fi while until do done for select in
//!   case esac function ! [[ ]]` are recognised where the shell recognises
//!   them: unquoted, as the first word of a command. The words of a `for`
//!   header and the patterns of a `case` are not commands. `name() { …; }`
//!   and `function name { …; }` define functions; their bodies are listed as
//!   commands (the function might be called). `[[ … ]]` is listed as one
//!   command whose first word is `[[`. `time` or `time -p` before a compound
//!   command (`time ( … )`, `time { …; }`) is dropped; before a simple
//!   command it is a wrapper (below).
//! * **Substitutions.** The text inside `$( … )`, backticks, and the process
//!   substitutions `<( … )` / `>( … )` is parsed as commands too, wherever it
//!   appears: in an argument, inside double quotes, in a redirection target,
//!   in an assignment, inside `${ … }` or `$(( … ))`, in a here-document
//!   body (below). Nothing inside single quotes is a substitution. In the
//!   argument vector a substitution is shown as the placeholder `$(...)`, so
//!   the word still reads as computed. A double-quoted string that is exactly
//!   one substitution is shown as `"$(...)"`, quotes included: it is always
//!   one word (`git commit -m "$(cat msg)"` gives `git commit -m "$(...)"`).
//! * **Assignments and redirections.** Leading `NAME=value` words (also
//!   `NAME+=value`, `NAME[i]=value`) are dropped. Redirections (`>f`, `>>f`,
//!   `<f`, `2>&1`, `&>f`, `>|f`, `<>f`, `<<<word`, `{fd}>f`) and their targets
//!   are not argument words, nor are here-documents.
//! * **Here-documents.** `<<WORD` and `<<-WORD`, also inside `$( … )`, are
//!   redirections. The body runs from the line after the operator's line to
//!   the first line that is exactly the delimiter, WORD after quote removal
//!   (with `<<-`, leading tabs are stripped from each line first). Several
//!   here-documents on one line take their bodies in order. If any part of
//!   WORD is quoted (`'EOF'`, `"EOF"`, `\EOF`, `E"OF"`), the body is data and
//!   nothing in it runs. Otherwise the shell expands it, so every `$( … )`
//!   and backtick substitution in it is parsed as commands; quotes are
//!   ordinary characters there (`'$(cmd)'` runs `cmd`), `\$(cmd)` does not
//!   run, a backslash-newline joins two lines, and `$VAR` runs nothing.
//!   The usual commit, `git commit -m "$(cat <<'EOF'`, the message lines,
//!   `EOF`, `)"`, thus gives `git commit -m "$(...)"` and `cat`; and
//!   `cat > a.py <<'EOF'` gives `cat` whatever the body says.
//!   When the body is read by a shell as its script, it is parsed as
//!   commands, quoted delimiter or not (an unquoted body as expanded:
//!   `\$(cmd)` in the body is `$(cmd)` in the script). A shell reads its
//!   script from standard input when it is one of the shells listed under
//!   *Shell strings* with neither `-c` nor a script file, or with `-s`, or
//!   with the script file `/dev/stdin` (`/dev/fd/0`, `/proc/self/fd/0`); so
//!   do `source /dev/stdin` and `. /dev/stdin`. A wrapped command
//!   (`sudo bash <<EOF`) and the commands of a shell string
//!   (`bash -c 'sh' <<EOF`) read the same input, and a here-document on a
//!   compound command (`done <<EOF`, `} <<EOF`) is taken to feed every
//!   command of the string. Other readers get data: `python3 - <<'EOF'` is
//!   one command, `python3 -`.
//! * **Wrappers.** A command that runs another command is listed as it is
//!   *and* the command it wraps is listed on its own (and unwrapped again if it
//!   is itself a wrapper): `sudo` and `doas` (their options skipped, and
//!   `VAR=value` words after sudo's options), `pkexec`, `env` (options and
//!   assignments skipped; `-S`/`--split-string` is split into words), `command`
//!   (not with `-v`/`-V`, which only look a name up), `builtin`, `exec`,
//!   `nohup`, `nice`, `time`, `timeout` (options and the duration), `stdbuf`,
//!   `setsid`, `ionice`, `chroot` (options and the new root), `busybox`,
//!   `coproc`, `xargs` (options skipped; the words it reads from its input are
//!   represented by one extra placeholder word [`XARGS_INPUT`], since they may
//!   hold anything, `-rf` included), `watch` (without `-x` its words are joined
//!   and parsed as a shell string, as watch does with `sh -c`),
//!   `find … -exec/-execdir/-ok/-okdir WORDS ;` (or `{} +`; `{}` stays a
//!   word). Where an option is not in our table and could either stand alone
//!   or take a value, both readings are listed.
//! * **Shell strings.** These strings are parsed recursively as commands:
//!   the STRING of `bash|sh|zsh|dash|ksh|ash|mksh|rbash|yash|posh -c STRING`
//!   (also clustered, as in `bash -lc`) and of `su|runuser -c STRING`; the
//!   WORDS of `eval [--] WORDS…`, joined by spaces; the COMMAND of
//!   `trap COMMAND SIGNAL…`; and the values of `git -c alias.NAME='!…'` and
//!   of the `git -c` settings git runs through the shell (`core.pager`,
//!   `core.editor`, `core.sshCommand`, `core.fsmonitor`, `sequence.editor`,
//!   `diff.external`, `pager.*`). Other interpreters are not shells:
//!   `python3 -c "print(1)"` is one command whose string is an ordinary
//!   argument.
//! * **Depth.** Substitutions, shell strings and wrappers may nest 16 deep and a
//!   string may yield at most 1000 commands; beyond that the string is refused.
//!
//! The string is refused with [`Unparsed`] (a short reason) when it cannot be
//! split with certainty: unbalanced quotes, brackets or keywords (`(` without
//! `)`, `if` without `fi`, …), a here-document whose delimiter line never
//! comes (also when it reads `EOF)`, or when a `$( … )` closes on the
//! operator's line, before the body), a here-document delimiter containing
//! `$`, a backtick or `(`, an arithmetic command `(( … ))`, an array
//! assignment `a=(…)`, a `(` in the middle of a command, a
//! redirection with no target, nesting too deep, or a **command name that is
//! computed** at run time: it contains `$` or a backtick (`$(echo rm) -rf /`,
//! `$CMD`, `` `rm -rf /` ``), a glob (`/bin/r?`), a brace expansion
//! (`{rm,-rf,/}`), or is empty (`"" x`). (`[` and `[[` are names, not globs.) A computed name does not stop the
//! analysis: [`Unparsed::partial`] lists the commands that were recognised
//! anyway (for `` `rm -rf /` `` that is `rm -rf /`), so a caller can name the
//! deny rule that matched. It must never be used to *allow* anything.
//!
//! # Matching a rule against one simple command
//!
//! A pattern is split into words with the same quoting rules. A trailing
//! `:*` on the last word (Claude Code's prefix syntax, `npm run test:*`) means
//! the same as a separate trailing `*` word.
//!
//! ## Loose matching, for deny and require_approval: [`matches_loosely`]
//!
//! Here a missed match is the dangerous error, so every doubt resolves to
//! "matches".
//!
//! * The first pattern word must equal the command name, compared by basename
//!   (`/usr/bin/rm` is `rm`; see [`command_name`]); `*`/`?` in it glob. A
//!   command name that is itself computed (which [`simple_commands`] never
//!   returns) matches any pattern.
//! * A literal pattern word that is not an option (`push`, `apply`) must
//!   appear among the command's other words in the pattern's order, as a
//!   subsequence: options and values in between (`-C .`, `--context prod`,
//!   `--no-pager`) are skipped. A literal directly after an option in the
//!   pattern (`prod` in `--context prod`, `/` in `rm -rf /`) is taken as that
//!   option's value and may appear anywhere, also attached to an option word
//!   (`-nprod`, `--namespace=prod`).
//! * An option pattern word must be present anywhere in the command. Short
//!   flags are sets: `-rf` requires `r` and `f`, each found in any short-option
//!   word (`-rf`, `-fr`, `-r -f`, `-f -r`, `-vrf`). `--long` is found as
//!   `--long`, `--long=value`, as a unique-prefix abbreviation that GNU getopt
//!   and git accept (`--forc`), or with a single dash (`-long`, Go style);
//!   `--long=value` in the pattern also needs the value somewhere. Equivalent
//!   spellings from this table count too:
//!   `rm`: `-r` = `-R` = `--recursive`, `-f` = `--force`;
//!   `cp`: `-r` = `-R` = `--recursive`, `-f` = `--force`; `mv`: `-f` = `--force`;
//!   `chmod`, `chown`, `chgrp`: `-R` = `--recursive`;
//!   `git`: `-f` = `--force` = `--force-with-lease` = `--force-if-includes`,
//!   and a `+refspec` word counts as a force too; `-d` = `--delete`;
//!   `kubectl`: `-n` = `--namespace`, `-f` = `--filename`,
//!   `-A` = `--all-namespaces`; `sed`: `-i` = `--in-place`.
//! * `*` words impose nothing: a trailing `*` matches whatever follows, and a
//!   pattern without one still matches commands with extra words.
//!   `*` and `?` inside a word glob against one command word.
//! * Words whose value is unknown until run time count against the rule: a
//!   command word containing `$` or a backtick (variables, substitutions, the
//!   xargs placeholder) or a brace expansion may hold any words at all, so a
//!   command with such an argument matches every pattern for its name
//!   (`git commit -m "$MSG"` and `git commit -m $(cat msg)` match
//!   `git push *`). A command word with a glob (`*`, `?`, `[...]`) matches a
//!   pattern word it could expand to (`pu?h` matches `push`; `*` could
//!   expand to a file named `-rf`). After quote removal a quoted `$` or `*`
//!   cannot be told from an unquoted one, so both are treated this way.
//! * The exception is the placeholder `"$(...)"`: one word whose value is
//!   unknown. In a word with no other expansion it counts as the glob `*`, so
//!   a bare `"$(...)"` may be any one word, option or not
//!   (`git "$(echo push)"` matches `git push *`), and `--message="$(...)"` is
//!   the option `--message` with some value. A bare `"$(...)"` that is
//!   certainly the value of an option may be nothing but that value: it can
//!   match a pattern's option value (`WIP` in `git commit -m WIP *`) but no
//!   other pattern word, so `git commit -m "$(cat <<'EOF' …)"` matches
//!   neither `git push *` nor `git commit --no-verify *`. It is certainly a
//!   value when it directly follows one of these options, spelled in full or
//!   as the last of a cluster of the subcommand's short flags (`-am`): for
//!   `git commit` and `git tag`, `-m --message -F --file`; `git merge`,
//!   `-m -F --file`; `git stash`, `-m --message`; `git notes`,
//!   `-m --message -F --file`; `gh pr create|edit` and
//!   `gh issue create|edit`, `-t --title -b --body -F --body-file`;
//!   `gh pr comment|review` and `gh issue comment`,
//!   `-b --body -F --body-file`; `gh pr merge`,
//!   `-t --subject -b --body -F --body-file`; `gh release create`,
//!   `-t --title -n --notes -F --notes-file`. Further, the command's first
//!   positional words must be exactly that subcommand, with only known global
//!   options before them (`git -C dir commit`, `git --no-pager`); no `--` may
//!   come before the option; and the word before the option must be a plain
//!   word, `--name=value`, a known flag of the subcommand (`--amend`) or
//!   itself such a value, since otherwise the option could be that word's
//!   value. Anything else is not certain and counts as `*`:
//!   `git checkout -m "$(…)"` (`-m` takes no value there),
//!   `git --git-dir x commit -m "$(…)"`, `git commit --author -m "$(…)"`.
//! * Words containing `/` are also compared after [`normalize_path`], so
//!   `rm -rf //` and `rm -rf /tmp/..` match `rm -rf /`. A literal also
//!   matches the value of a `key=value` word, so `git -c alias.p=push p`
//!   matches `git push *` (not of an `--option=value` word: that value
//!   belongs to the option).
//!
//! ## Strict matching, for allow: [`matches_strictly`]
//!
//! Here over-matching is the dangerous error.
//!
//! * `argv[0]` must equal the first pattern word exactly: no basename, no
//!   glob (`/tmp/x/git status` does not match `git status`).
//! * The remaining words match one for one, in order; `*`/`?` in a pattern
//!   word glob within that one word; a final lone `*` matches zero or more
//!   remaining words. Without it the word counts must be equal.
//! * A command word whose value is unknown until run time (containing `$`, a
//!   backtick, a brace expansion or a glob character) is matched only by the
//!   final lone `*`, since it may expand to several words.
//! * A command word with a `..` path segment must match both as written and
//!   after [`normalize_path`], so `rm build/*` does not allow `rm build/../..`.
//! * A pattern that is only `*` matches every command.
//!
//! A caller applies deny and require_approval rules to every simple command
//! (one loose match is enough), and allows the string only when every simple
//! command is matched strictly by some allow rule. Wrappers make this work:
//! `timeout 10 git push` yields both `timeout 10 git push` and `git push`.
//!
//! # Paths: [`normalize_path`]
//!
//! Lexical only, no file system access: `//` collapses, `.` segments drop,
//! `..` removes the segment before it but never climbs above the root
//! (`/tmp/../../etc/passwd` is `/etc/passwd`); a relative path that climbs
//! above its start keeps its leading `..` segments (`a/../../b` is `../b`);
//! a leading `/` is kept or not as given; a trailing `/` goes, except for the
//! root itself. A relative path that reduces to nothing is `.`. `~` and
//! variables are not expanded, and symbolic links are not resolved.
//!
//! # Known limits
//!
//! A deny list over shell commands cannot be complete; for untrusted agents
//! prefer allow rules. In particular:
//!
//! * A shell that reads commands from a pipe or a file (`curl … | sh`,
//!   `cat <<'EOF' | sh`, `bash script.sh`, `source x`, `. <(…)`) is not
//!   looked into (a here-document given to the shell itself is); neither are
//!   other interpreters (`python -c`, `perl -e`, `awk`, `fish -c`, or
//!   `python3 - <<'EOF'`), other launchers (`parallel`, `flock`, `script -c`,
//!   `tmux`, `ssh host cmd`, `docker exec`, `kubectl exec`), tools' own
//!   command hooks (git aliases and pagers set in config files,
//!   `vim -c '!…'`) or commands held in environment variables for other
//!   programs (`PAGER=…`, `GIT_SSH_COMMAND=…`, `EDITOR=…`). Rules on those
//!   commands cover them.
//! * Strings the shell re-evaluates at run time from variables are not seen:
//!   prompt expansion `${x@P}`, array subscripts in arithmetic
//!   (`x='a[$(cmd)]'; echo $((x))`).
//! * Aliases (off in non-interactive shells unless enabled) and functions
//!   defined in an earlier tool call are not known; git's `help.autocorrect`
//!   can run `push` for `git pshu`.
//! * Values of variables are not known; see the loose and strict rules above.
//! * Some valid syntax is refused rather than analysed: `(( … ))` and
//!   `for (( … ))`, array assignments `a=( … )`, `coproc NAME { …; }`, a
//!   `case` inside `$( … )` unless its patterns are written `(pattern)`, and
//!   the rare here-document forms listed above.

use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;

/// How deeply substitutions, shell strings and wrappers may nest.
const MAX_DEPTH: usize = 16;
/// How many simple commands one string may yield.
const MAX_COMMANDS: usize = 1000;

/// The word appended to a command run by `xargs`, standing for the words
/// xargs reads from its input.
pub const XARGS_INPUT: &str = "${xargs-input}";

/// A command string that cannot be split into simple commands with certainty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed {
    /// A short reason, for messages.
    pub reason: String,
    /// Simple commands recognised before or despite the problem. Useful for
    /// naming a deny rule that matched; never a reason to allow.
    pub partial: Vec<Vec<String>>,
}

impl Unparsed {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            partial: Vec::new(),
        }
    }
}

impl fmt::Display for Unparsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot analyse shell command: {}", self.reason)
    }
}

impl std::error::Error for Unparsed {}

type Res<T> = Result<T, Unparsed>;

fn fail<T>(reason: &str) -> Res<T> {
    Err(Unparsed::new(reason))
}

/// Every simple command `command` would run, each as its argument vector after
/// quote removal. See the module documentation for the rules.
pub fn simple_commands(command: &str) -> Result<Vec<Vec<String>>, Unparsed> {
    let mut ctx = Ctx::default();
    match ctx.parse_script(command, 0, &[]) {
        Err(mut e) => {
            e.partial = ctx.out;
            Err(e)
        }
        Ok(()) => match ctx.soft_error {
            Some(reason) => Err(Unparsed {
                reason,
                partial: ctx.out,
            }),
            None => Ok(ctx.out),
        },
    }
}

/// The name a command is looked up by: the last path segment
/// (`/usr/bin/rm` → `rm`, `./x/git` → `git`).
pub fn command_name(argv0: &str) -> &str {
    let trimmed = argv0.trim_end_matches('/');
    if trimmed.is_empty() {
        return argv0;
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Lexical path normalisation; see the module documentation.
pub fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let absolute = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match segments.last() {
                Some(last) if *last != ".." => {
                    segments.pop();
                }
                _ if absolute => {}
                _ => segments.push(".."),
            },
            other => segments.push(other),
        }
    }
    let joined = segments.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Tok {
    /// A word as written (quotes kept, substitutions replaced by placeholders).
    Word(String),
    /// A control operator: `;` `;;` `;&` `;;&` `&` `&&` `|` `||` `|&` `(` `)` newline.
    Op(&'static str),
    /// A redirection operator (with its file descriptor, if any); the next
    /// word is its target.
    Redir,
    /// A here-document operator with its delimiter: the index of its body in
    /// [`Lexer::heredocs`].
    HereDoc(usize),
}

/// A here-document whose operator was read but whose body was not yet.
struct PendingHereDoc {
    index: usize,
    delimiter: String,
    /// `<<-`: leading tabs are stripped from each line.
    strip_tabs: bool,
    /// Some part of the delimiter was quoted: the body is not expanded.
    quoted: bool,
}

struct Lexer<'a> {
    s: &'a [char],
    pos: usize,
    /// Texts of `$( … )`, backtick and process substitutions, to be parsed.
    subs: Vec<String>,
    depth: usize,
    /// For each here-document, the text a shell reading it as a script
    /// would read: the body, expanded unless the delimiter was quoted.
    heredocs: Vec<String>,
    /// Here-documents whose bodies start after the next line break.
    pending: Vec<PendingHereDoc>,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [char], depth: usize) -> Self {
        Self {
            s,
            pos: 0,
            subs: Vec::new(),
            depth,
            heredocs: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.pos + n).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.s.get(from..to).unwrap_or_default().iter().collect()
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail("nesting too deep");
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Tokens up to the end of input, or (when `nested`) up to the `)` that
    /// closes a `$(` / `<(` whose content starts at the current position; the
    /// position is then left on that `)`.
    fn lex(&mut self, nested: bool) -> Res<Vec<Tok>> {
        let mut toks = Vec::new();
        let mut parens = 0usize;
        let mut last_word_end = usize::MAX;
        // Here-documents of an enclosing command line, still waiting for the
        // line break that starts their bodies.
        let outer_pending = self.pending.len();
        loop {
            while let Some(c) = self.peek() {
                if c == ' ' || c == '\t' {
                    self.pos += 1;
                } else if c == '\\' && self.peek_at(1) == Some('\n') {
                    self.pos += 2;
                } else {
                    break;
                }
            }
            let Some(c) = self.peek() else { break };
            match c {
                '\n' => {
                    self.pos += 1;
                    toks.push(Tok::Op("\n"));
                    if !self.pending.is_empty() {
                        if nested && outer_pending > 0 {
                            return fail("line break inside `$(` before a here-document body");
                        }
                        self.read_heredoc_bodies()?;
                    }
                }
                '#' => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                ';' => {
                    let op = if self.starts_with(";;&") {
                        ";;&"
                    } else if self.starts_with(";;") {
                        ";;"
                    } else if self.starts_with(";&") {
                        ";&"
                    } else {
                        ";"
                    };
                    self.pos += op.len();
                    toks.push(Tok::Op(op));
                }
                '&' => {
                    if self.starts_with("&&") {
                        self.pos += 2;
                        toks.push(Tok::Op("&&"));
                    } else if self.starts_with("&>>") {
                        self.pos += 3;
                        toks.push(Tok::Redir);
                    } else if self.starts_with("&>") {
                        self.pos += 2;
                        toks.push(Tok::Redir);
                    } else {
                        self.pos += 1;
                        toks.push(Tok::Op("&"));
                    }
                }
                '|' => {
                    let op = if self.starts_with("||") {
                        "||"
                    } else if self.starts_with("|&") {
                        "|&"
                    } else {
                        "|"
                    };
                    self.pos += op.len();
                    toks.push(Tok::Op(op));
                }
                '(' => {
                    if self.peek_at(1) == Some('(') {
                        return fail("arithmetic command `((`");
                    }
                    self.pos += 1;
                    parens += 1;
                    toks.push(Tok::Op("("));
                }
                ')' => {
                    if nested && parens == 0 {
                        if self.pending.len() > outer_pending {
                            return fail("here-document body missing before `)`");
                        }
                        return Ok(toks);
                    }
                    parens = parens.saturating_sub(1);
                    self.pos += 1;
                    toks.push(Tok::Op(")"));
                }
                '<' | '>' if self.peek_at(1) != Some('(') => {
                    // A word written right before the operator (`2>`, `{fd}>`)
                    // is its file descriptor, not an argument.
                    if last_word_end == self.pos
                        && matches!(toks.last(), Some(Tok::Word(w)) if is_io_number(w))
                    {
                        toks.pop();
                    }
                    if self.starts_with("<<") && !self.starts_with("<<<") {
                        self.pos += 2;
                        let strip_tabs = self.peek() == Some('-');
                        if strip_tabs {
                            self.pos += 1;
                        }
                        let index = self.heredoc_operator(strip_tabs)?;
                        toks.push(Tok::HereDoc(index));
                        continue;
                    }
                    let len = if c == '<' {
                        if self.starts_with("<<<") {
                            3
                        } else if self.starts_with("<&") || self.starts_with("<>") {
                            2
                        } else {
                            1
                        }
                    } else if self.starts_with(">>")
                        || self.starts_with(">&")
                        || self.starts_with(">|")
                    {
                        2
                    } else {
                        1
                    };
                    self.pos += len;
                    toks.push(Tok::Redir);
                }
                _ => {
                    let word = self.read_word()?;
                    toks.push(Tok::Word(word));
                    last_word_end = self.pos;
                }
            }
        }
        if nested {
            return fail("unbalanced `$(`");
        }
        if !self.pending.is_empty() {
            return fail("unterminated here-document");
        }
        Ok(toks)
    }

    /// The delimiter word after `<<` or `<<-`; the body is read at the next
    /// line break. Returns the here-document's index.
    fn heredoc_operator(&mut self, strip_tabs: bool) -> Res<usize> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        let start = self.pos;
        let saved = self.subs.len();
        // Read as a word only to find where it ends; it is not expanded.
        let word = self.read_word();
        self.subs.truncate(saved);
        word?;
        let raw = self.text(start, self.pos);
        if raw.contains(['$', '`', '(']) {
            return fail("unusual here-document delimiter");
        }
        let delimiter = unquote(&raw)?;
        let index = self.heredocs.len();
        self.heredocs.push(String::new());
        self.pending.push(PendingHereDoc {
            index,
            delimiter,
            strip_tabs,
            quoted: raw.contains(['\'', '"', '\\']),
        });
        Ok(index)
    }

    /// The bodies of the pending here-documents, in order, the position being
    /// at the start of the line after their operators.
    fn read_heredoc_bodies(&mut self) -> Res<()> {
        for doc in std::mem::take(&mut self.pending) {
            let mut body = String::new();
            loop {
                let Some(line) = self.heredoc_line(doc.strip_tabs, !doc.quoted) else {
                    return fail("unterminated here-document");
                };
                if line == doc.delimiter {
                    break;
                }
                body.push_str(&line);
                body.push('\n');
            }
            let script = if doc.quoted {
                body
            } else {
                self.expand_heredoc(&body)?
            };
            if let Some(slot) = self.heredocs.get_mut(doc.index) {
                *slot = script;
            }
        }
        Ok(())
    }

    /// One line of a here-document body, without its line break; `None` at
    /// the end of the input. With `join`, a backslash-newline continues the
    /// line (the shell does this before comparing with the delimiter when
    /// the delimiter is unquoted).
    fn heredoc_line(&mut self, strip_tabs: bool, join: bool) -> Option<String> {
        self.peek()?;
        let mut line = String::new();
        loop {
            if strip_tabs {
                while self.peek() == Some('\t') {
                    self.pos += 1;
                }
            }
            loop {
                match self.peek() {
                    None => return Some(line),
                    Some('\n') => {
                        self.pos += 1;
                        return Some(line);
                    }
                    Some('\\') if join => match self.peek_at(1) {
                        Some('\n') => {
                            self.pos += 2;
                            break;
                        }
                        Some(next) => {
                            line.push('\\');
                            line.push(next);
                            self.pos += 2;
                        }
                        None => {
                            line.push('\\');
                            self.pos += 1;
                        }
                    },
                    Some(c) => {
                        line.push(c);
                        self.pos += 1;
                    }
                }
            }
        }
    }

    /// An unquoted here-document body as a shell reading it would see it:
    /// backslash escapes of `$`, backtick and backslash removed, and
    /// substitutions replaced by placeholders. The substitutions are
    /// recorded, since they run whoever reads the body. Quotes are ordinary
    /// characters in a body.
    fn expand_heredoc(&mut self, body: &str) -> Res<String> {
        let chars: Vec<char> = body.chars().collect();
        let mut lexer = Lexer::new(&chars, self.depth);
        let mut out = String::new();
        while let Some(c) = lexer.peek() {
            match c {
                '\\' => match lexer.peek_at(1) {
                    Some(next @ ('$' | '`' | '\\')) => {
                        out.push(next);
                        lexer.pos += 2;
                    }
                    _ => {
                        out.push('\\');
                        lexer.pos += 1;
                    }
                },
                '`' => lexer.read_backtick(&mut out, false)?,
                '$' => lexer.read_dollar(&mut out, true)?,
                _ => {
                    out.push(c);
                    lexer.pos += 1;
                }
            }
        }
        self.subs.append(&mut lexer.subs);
        Ok(out)
    }

    /// One word as written, with substitutions replaced by placeholders.
    fn read_word(&mut self) -> Res<String> {
        let mut raw = String::new();
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' => break,
                '<' | '>' => {
                    if self.peek_at(1) != Some('(') {
                        break;
                    }
                    self.pos += 2;
                    self.command_substitution()?;
                    raw.push(c);
                    raw.push_str("(...)");
                }
                '\\' => match self.peek_at(1) {
                    None => return fail("trailing backslash"),
                    Some('\n') => self.pos += 2,
                    Some(next) => {
                        raw.push('\\');
                        raw.push(next);
                        self.pos += 2;
                    }
                },
                '\'' => {
                    let from = self.pos;
                    self.skip_single_quoted()?;
                    raw.push_str(&self.text(from, self.pos));
                }
                '"' => self.read_double(&mut raw)?,
                '`' => self.read_backtick(&mut raw, false)?,
                '$' => self.read_dollar(&mut raw, false)?,
                _ => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
        if self.pos == start {
            return fail("unexpected character");
        }
        Ok(raw)
    }

    /// A double-quoted string starting at the current `"`.
    fn read_double(&mut self, raw: &mut String) -> Res<()> {
        let start = raw.len();
        raw.push('"');
        self.pos += 1;
        loop {
            let Some(c) = self.peek() else {
                return fail("unbalanced double quote");
            };
            match c {
                '"' => {
                    self.pos += 1;
                    if raw.get(start..) == Some("\"$(...)") {
                        // Exactly one command substitution in double quotes:
                        // one word, shown as `"$(...)"` with its quotes.
                        raw.truncate(start);
                        raw.push_str("\\\"$(...)\\\"");
                    } else {
                        raw.push('"');
                    }
                    return Ok(());
                }
                '\\' => {
                    let Some(next) = self.peek_at(1) else {
                        return fail("unbalanced double quote");
                    };
                    raw.push('\\');
                    raw.push(next);
                    self.pos += 2;
                }
                '`' => self.read_backtick(raw, true)?,
                '$' => self.read_dollar(raw, true)?,
                _ => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A backtick substitution starting at the current backtick.
    fn read_backtick(&mut self, raw: &mut String, in_double: bool) -> Res<()> {
        self.enter()?;
        self.pos += 1;
        let mut content = String::new();
        loop {
            let Some(c) = self.peek() else {
                return fail("unbalanced backtick");
            };
            match c {
                '`' => {
                    self.pos += 1;
                    break;
                }
                '\\' => {
                    let Some(next) = self.peek_at(1) else {
                        return fail("unbalanced backtick");
                    };
                    if next == '$' || next == '`' || next == '\\' || (in_double && next == '"') {
                        content.push(next);
                    } else {
                        content.push('\\');
                        content.push(next);
                    }
                    self.pos += 2;
                }
                _ => {
                    content.push(c);
                    self.pos += 1;
                }
            }
        }
        self.subs.push(content);
        raw.push_str("$(...)");
        self.leave();
        Ok(())
    }

    /// The content of `$( … )` or `<( … )`, the position being just after the
    /// `(`; records it as a substitution and leaves the position after `)`.
    fn command_substitution(&mut self) -> Res<()> {
        self.enter()?;
        let start = self.pos;
        let saved = self.subs.len();
        self.lex(true)?;
        // Nested substitutions are found again when the content is parsed.
        self.subs.truncate(saved);
        let content = self.text(start, self.pos);
        self.pos += 1;
        self.subs.push(content);
        self.leave();
        Ok(())
    }

    /// A `$` and what it introduces, the position being on the `$`.
    fn read_dollar(&mut self, raw: &mut String, in_double: bool) -> Res<()> {
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                self.pos += 3;
                self.read_arithmetic()?;
                raw.push_str("$((...))");
            }
            Some('(') => {
                self.pos += 2;
                self.command_substitution()?;
                raw.push_str("$(...)");
            }
            Some('{') => {
                self.pos += 2;
                let start = self.pos;
                self.read_parameter(in_double)?;
                let content = self.text(start, self.pos - 1);
                let plain = content
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_#@*!?-:%/+=,^~.".contains(c));
                if plain {
                    raw.push_str("${");
                    raw.push_str(&content);
                    raw.push('}');
                } else {
                    raw.push_str("${...}");
                }
            }
            Some('\'') if !in_double => {
                // ANSI-C quoting: kept as a computed word.
                self.pos += 2;
                loop {
                    match self.peek() {
                        None => return fail("unbalanced $' quote"),
                        Some('\\') => {
                            if self.peek_at(1).is_none() {
                                return fail("unbalanced $' quote");
                            }
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                raw.push_str("$'...'");
            }
            Some('"') if !in_double => {
                raw.push('$');
                self.pos += 1;
                self.read_double(raw)?;
            }
            _ => {
                raw.push('$');
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// `${ … }` content, the position being just after `{`; leaves the
    /// position after the closing `}`.
    fn read_parameter(&mut self, in_double: bool) -> Res<()> {
        self.enter()?;
        let mut scratch = String::new();
        let mut braces = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return fail("unbalanced `${`");
            };
            match c {
                '}' if braces == 0 => {
                    self.pos += 1;
                    break;
                }
                '}' => {
                    braces -= 1;
                    self.pos += 1;
                }
                '{' => {
                    braces += 1;
                    self.pos += 1;
                }
                '\\' => {
                    if self.peek_at(1).is_none() {
                        return fail("unbalanced `${`");
                    }
                    self.pos += 2;
                }
                '\'' if !in_double => {
                    self.skip_single_quoted()?;
                }
                '"' => self.read_double(&mut scratch)?,
                '`' => self.read_backtick(&mut scratch, in_double)?,
                '$' => self.read_dollar(&mut scratch, in_double)?,
                _ => self.pos += 1,
            }
        }
        self.leave();
        Ok(())
    }

    /// Steps over a single-quoted string, the position being at its opening quote: nothing
    /// inside one is special.
    fn skip_single_quoted(&mut self) -> Res<()> {
        self.pos += 1;
        loop {
            match self.peek() {
                None => return fail("unbalanced single quote"),
                Some('\'') => break,
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        Ok(())
    }

    /// `$(( … ))` content, the position being just after `$((`; only
    /// substitutions inside it matter.
    fn read_arithmetic(&mut self) -> Res<()> {
        self.enter()?;
        let mut scratch = String::new();
        let mut parens = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return fail("unbalanced `$((`");
            };
            match c {
                '(' => {
                    parens += 1;
                    self.pos += 1;
                }
                ')' if parens == 0 => {
                    if self.peek_at(1) != Some(')') {
                        return fail("unbalanced `$((`");
                    }
                    self.pos += 2;
                    break;
                }
                ')' => {
                    parens -= 1;
                    self.pos += 1;
                }
                '\\' => {
                    if self.peek_at(1).is_none() {
                        return fail("unbalanced `$((`");
                    }
                    self.pos += 2;
                }
                '\'' => {
                    self.skip_single_quoted()?;
                }
                '"' => self.read_double(&mut scratch)?,
                '`' => self.read_backtick(&mut scratch, false)?,
                '$' => self.read_dollar(&mut scratch, false)?,
                _ => self.pos += 1,
            }
        }
        self.leave();
        Ok(())
    }
}

/// `2` in `2>&1`, `{fd}` in `{fd}>file`.
fn is_io_number(raw: &str) -> bool {
    if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    raw.strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(is_name)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=…`, `NAME+=…`, `NAME[i]=…` (as written, or after quote removal).
fn is_assignment(word: &str) -> bool {
    let Some(eq) = word.find('=') else {
        return false;
    };
    let mut lhs = &word[..eq];
    lhs = lhs.strip_suffix('+').unwrap_or(lhs);
    if let Some(open) = lhs.find('[') {
        if !lhs.ends_with(']') {
            return false;
        }
        lhs = &lhs[..open];
    }
    is_name(lhs)
}

/// Quote removal for one word as written.
fn unquote(raw: &str) -> Res<String> {
    let Some(mut words) = shlex::split(raw) else {
        return fail("unbalanced quotes");
    };
    match (words.pop(), words.is_empty()) {
        (Some(word), true) => Ok(word),
        _ => fail("word splitting disagreed"),
    }
}

// ---------------------------------------------------------------------------
// Parser: tokens to simple commands
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Frame {
    Paren,
    Brace,
    If,
    Loop,
    Case,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Normal,
    ForHeader,
    CaseSubject,
    CaseIn,
    CasePattern,
    Cond,
    FuncName,
}

fn pop(stack: &mut Vec<Frame>, expected: Frame) -> Res<()> {
    match stack.pop() {
        Some(frame) if frame == expected => Ok(()),
        _ => fail("unbalanced brackets or keywords"),
    }
}

/// Simple commands as raw words (leading assignments dropped), each with the
/// here-documents it reads (indices into [`Lexer::heredocs`]).
#[derive(Default)]
struct Split {
    commands: Vec<(Vec<String>, Vec<usize>)>,
    /// Here-documents not attached to a simple command: redirections of a
    /// compound command (`done <<EOF`, `} <<EOF`) or of no command at all.
    orphans: Vec<usize>,
    /// Here-documents of the command being read.
    docs: Vec<usize>,
}

fn flush(cur: &mut Vec<String>, split: &mut Split) {
    let words = std::mem::take(cur);
    let docs = std::mem::take(&mut split.docs);
    let skip = words.iter().take_while(|w| is_assignment(w)).count();
    if skip < words.len() {
        split
            .commands
            .push((words.into_iter().skip(skip).collect(), docs));
    } else {
        split.orphans.extend(docs);
    }
}

fn is_time_prefix(cur: &[String]) -> bool {
    matches!(cur, [t] | [t, _] if t == "time") && cur.get(1).is_none_or(|p| p == "-p")
}

fn is_compound_opener(raw: &str) -> bool {
    matches!(
        raw,
        "{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[" | "!"
    )
}

/// Splits tokens into simple commands.
fn split_commands(toks: &[Tok]) -> Res<Split> {
    let mut out = Split::default();
    let mut cur: Vec<String> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut mode = Mode::Normal;
    let mut redirect = false;
    let mut i = 0;
    while let Some(tok) = toks.get(i) {
        i += 1;
        match tok {
            Tok::Redir => {
                if redirect {
                    return fail("redirection without a target");
                }
                match mode {
                    Mode::Normal => redirect = true,
                    Mode::Cond => {}
                    _ => return fail("unexpected redirection"),
                }
            }
            Tok::HereDoc(index) => {
                if redirect {
                    return fail("redirection without a target");
                }
                if mode != Mode::Normal {
                    return fail("unexpected here-document");
                }
                out.docs.push(*index);
            }
            Tok::Word(raw) => {
                if redirect {
                    redirect = false;
                    continue;
                }
                match mode {
                    Mode::Normal => {}
                    Mode::ForHeader => {
                        if raw == "do" {
                            mode = Mode::Normal;
                        }
                        continue;
                    }
                    Mode::CaseSubject => {
                        mode = Mode::CaseIn;
                        continue;
                    }
                    Mode::CaseIn => {
                        if raw != "in" {
                            return fail("expected `in` after `case`");
                        }
                        stack.push(Frame::Case);
                        mode = Mode::CasePattern;
                        continue;
                    }
                    Mode::CasePattern => {
                        if raw == "esac" {
                            pop(&mut stack, Frame::Case)?;
                            mode = Mode::Normal;
                        }
                        continue;
                    }
                    Mode::FuncName => {
                        mode = Mode::Normal;
                        continue;
                    }
                    Mode::Cond => {
                        cur.push(raw.clone());
                        if raw == "]]" {
                            flush(&mut cur, &mut out);
                            mode = Mode::Normal;
                        }
                        continue;
                    }
                }
                // `time` (and `time -p`) may prefix a compound command.
                if is_time_prefix(&cur) && is_compound_opener(raw) {
                    cur.clear();
                }
                if cur.is_empty() {
                    match raw.as_str() {
                        "{" => {
                            stack.push(Frame::Brace);
                            continue;
                        }
                        "}" => {
                            pop(&mut stack, Frame::Brace)?;
                            continue;
                        }
                        "!" | "then" | "else" | "elif" | "do" => continue,
                        "if" => {
                            stack.push(Frame::If);
                            continue;
                        }
                        "fi" => {
                            pop(&mut stack, Frame::If)?;
                            continue;
                        }
                        "while" | "until" => {
                            stack.push(Frame::Loop);
                            continue;
                        }
                        "for" | "select" => {
                            stack.push(Frame::Loop);
                            mode = Mode::ForHeader;
                            continue;
                        }
                        "done" => {
                            pop(&mut stack, Frame::Loop)?;
                            continue;
                        }
                        "case" => {
                            mode = Mode::CaseSubject;
                            continue;
                        }
                        "esac" => {
                            pop(&mut stack, Frame::Case)?;
                            continue;
                        }
                        "function" => {
                            mode = Mode::FuncName;
                            continue;
                        }
                        "[[" => {
                            mode = Mode::Cond;
                            cur.push(raw.clone());
                            continue;
                        }
                        _ => {}
                    }
                }
                cur.push(raw.clone());
            }
            Tok::Op(op) => {
                if redirect {
                    return fail("redirection without a target");
                }
                match mode {
                    Mode::Normal => {}
                    Mode::Cond => {
                        match *op {
                            "\n" => {}
                            "&&" | "||" | "(" | ")" => cur.push((*op).to_string()),
                            _ => return fail("unexpected operator inside `[[ ]]`"),
                        }
                        continue;
                    }
                    Mode::ForHeader => {
                        if *op == ";" || *op == "\n" {
                            continue;
                        }
                        return fail("unexpected operator in a `for` header");
                    }
                    Mode::CaseSubject | Mode::CaseIn => {
                        if *op == "\n" {
                            continue;
                        }
                        return fail("unexpected operator in a `case` header");
                    }
                    Mode::CasePattern => {
                        match *op {
                            "\n" | "|" | "(" => {}
                            ")" => mode = Mode::Normal,
                            _ => return fail("unexpected operator in a `case` pattern"),
                        }
                        continue;
                    }
                    Mode::FuncName => return fail("unexpected operator after `function`"),
                }
                match *op {
                    "(" => {
                        if cur.is_empty() || is_time_prefix(&cur) {
                            cur.clear();
                            stack.push(Frame::Paren);
                        } else if cur.len() == 1 && matches!(toks.get(i), Some(Tok::Op(")"))) {
                            // `name() …`: a function definition.
                            cur.clear();
                            i += 1;
                        } else {
                            return fail("unexpected `(`");
                        }
                    }
                    ")" => {
                        flush(&mut cur, &mut out);
                        pop(&mut stack, Frame::Paren)?;
                    }
                    ";;" | ";&" | ";;&" => {
                        flush(&mut cur, &mut out);
                        if stack.last() != Some(&Frame::Case) {
                            return fail("`;;` outside `case`");
                        }
                        mode = Mode::CasePattern;
                    }
                    _ => flush(&mut cur, &mut out),
                }
            }
        }
    }
    if redirect {
        return fail("redirection without a target");
    }
    if mode != Mode::Normal {
        return fail("unterminated compound command");
    }
    if !stack.is_empty() {
        return fail("unbalanced brackets or keywords");
    }
    flush(&mut cur, &mut out);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Commands and wrappers
// ---------------------------------------------------------------------------

/// Options of a wrapper command: which take a value.
struct Spec {
    short_val: &'static str,
    short_flag: &'static str,
    /// Short options whose value, if any, must be attached (`-i{}`).
    short_attached: &'static str,
    long_val: &'static [&'static str],
    long_flag: &'static [&'static str],
}

const NO_OPTIONS: Spec = Spec {
    short_val: "",
    short_flag: "",
    short_attached: "",
    long_val: &[],
    long_flag: &["help", "version"],
};
const SUDO: Spec = Spec {
    short_val: "CDgpRrTtUuc",
    short_flag: "AbBEeHiKklNnPSsVv",
    short_attached: "",
    long_val: &[
        "chdir",
        "chroot",
        "close-from",
        "command-timeout",
        "group",
        "host",
        "login-class",
        "other-user",
        "prompt",
        "role",
        "type",
        "user",
    ],
    long_flag: &[
        "askpass",
        "background",
        "bell",
        "edit",
        "help",
        "list",
        "login",
        "non-interactive",
        "preserve-env",
        "preserve-groups",
        "remove-timestamp",
        "reset-timestamp",
        "set-home",
        "shell",
        "stdin",
        "validate",
        "version",
    ],
};
const DOAS: Spec = Spec {
    short_val: "uC",
    short_flag: "nsL",
    ..NO_OPTIONS
};
const PKEXEC: Spec = Spec {
    long_val: &["user"],
    long_flag: &["disable-internal-agent", "keep-cwd", "help", "version"],
    ..NO_OPTIONS
};
const ENV: Spec = Spec {
    short_val: "uCS",
    short_flag: "i0v",
    short_attached: "",
    long_val: &["unset", "chdir", "split-string"],
    long_flag: &[
        "ignore-environment",
        "null",
        "debug",
        "default-signal",
        "ignore-signal",
        "block-signal",
        "list-signal-handling",
        "help",
        "version",
    ],
};
const EXEC: Spec = Spec {
    short_val: "a",
    short_flag: "cl",
    ..NO_OPTIONS
};
const NICE: Spec = Spec {
    short_val: "n",
    short_flag: "0123456789",
    short_attached: "",
    long_val: &["adjustment"],
    long_flag: &["help", "version"],
};
const TIME: Spec = Spec {
    short_val: "fo",
    short_flag: "apqv",
    short_attached: "",
    long_val: &["format", "output"],
    long_flag: &[
        "append",
        "portability",
        "quiet",
        "verbose",
        "help",
        "version",
    ],
};
const TIMEOUT: Spec = Spec {
    short_val: "ks",
    short_flag: "v",
    short_attached: "",
    long_val: &["kill-after", "signal"],
    long_flag: &[
        "foreground",
        "preserve-status",
        "verbose",
        "help",
        "version",
    ],
};
const STDBUF: Spec = Spec {
    short_val: "eio",
    long_val: &["error", "input", "output"],
    ..NO_OPTIONS
};
const SETSID: Spec = Spec {
    short_flag: "cfw",
    long_flag: &["ctty", "fork", "wait", "help", "version"],
    ..NO_OPTIONS
};
const IONICE: Spec = Spec {
    short_val: "cnpPu",
    short_flag: "th",
    short_attached: "",
    long_val: &["class", "classdata", "pid", "pgid", "uid"],
    long_flag: &["ignore", "help", "version"],
};
const CHROOT: Spec = Spec {
    long_val: &["userspec", "groups"],
    long_flag: &["skip-chdir", "help", "version"],
    ..NO_OPTIONS
};
const XARGS: Spec = Spec {
    short_val: "adEILnPs",
    short_flag: "0oprtx",
    short_attached: "eil",
    long_val: &[
        "arg-file",
        "delimiter",
        "max-args",
        "max-chars",
        "max-procs",
        "process-slot-var",
    ],
    long_flag: &[
        "eof",
        "exit",
        "interactive",
        "max-lines",
        "no-run-if-empty",
        "null",
        "open-tty",
        "replace",
        "show-limits",
        "verbose",
        "help",
        "version",
    ],
};
const WATCH: Spec = Spec {
    short_val: "nq",
    short_flag: "bcCdegprtwx",
    short_attached: "",
    long_val: &["interval", "equexit"],
    long_flag: &[
        "beep",
        "chgexit",
        "color",
        "differences",
        "errexit",
        "exec",
        "no-color",
        "no-rerun",
        "no-title",
        "no-wrap",
        "precise",
        "help",
        "version",
    ],
};

/// `git -c KEY=VALUE` settings whose value git runs as a shell command.
const GIT_SHELL_SETTINGS: &[&str] = &[
    "core.pager",
    "core.editor",
    "core.sshcommand",
    "core.fsmonitor",
    "sequence.editor",
    "diff.external",
];

const SHELLS: &[&str] = &[
    "bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "rbash", "yash", "posh",
];

#[derive(Clone, Copy)]
enum Width {
    One,
    Two,
    Either,
}

/// How many words an option word takes up (itself, or itself and a value).
fn option_width(word: &str, spec: &Spec) -> Width {
    if let Some(long) = word.strip_prefix("--") {
        if long.contains('=') {
            return Width::One;
        }
        if spec.long_val.contains(&long) {
            return Width::Two;
        }
        if spec.long_flag.contains(&long) {
            return Width::One;
        }
        let as_val = spec.long_val.iter().any(|l| l.starts_with(long));
        let as_flag = spec.long_flag.iter().any(|l| l.starts_with(long));
        return match (as_val, as_flag) {
            (true, false) => Width::Two,
            (false, true) => Width::One,
            _ => Width::Either,
        };
    }
    let cluster = &word[1..];
    for (k, c) in cluster.char_indices() {
        if spec.short_val.contains(c) {
            return if k + c.len_utf8() == cluster.len() {
                Width::Two
            } else {
                Width::One
            };
        }
        if spec.short_attached.contains(c) {
            return Width::One;
        }
        if !spec.short_flag.contains(c) {
            return Width::Either;
        }
    }
    Width::One
}

/// Where the wrapped command may start, after the options beginning at `from`.
fn command_starts(args: &[String], from: usize, spec: &Spec) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut visited = vec![false; args.len()];
    let mut todo = vec![from];
    while let Some(i) = todo.pop() {
        let Some(word) = args.get(i) else { continue };
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        if word == "--" {
            if i + 1 < args.len() {
                starts.push(i + 1);
            }
        } else if word.len() > 1 && word.starts_with('-') {
            match option_width(word, spec) {
                Width::One => todo.push(i + 1),
                Width::Two => todo.push(i + 2),
                Width::Either => {
                    todo.push(i + 1);
                    todo.push(i + 2);
                }
            }
        } else {
            starts.push(i);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

#[derive(Clone, Copy)]
enum Then {
    Nothing,
    Assignments,
    Skip(usize),
}

/// Why a command name cannot be judged, if it cannot.
fn computed_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty command name");
    }
    if name == "[" || name == "[[" {
        return None;
    }
    if name.contains(['$', '`']) {
        return Some("command name is computed at run time");
    }
    if name.contains(['*', '?', '[']) {
        return Some("command name is a glob pattern");
    }
    if has_brace_expansion(name) {
        return Some("command name uses brace expansion");
    }
    None
}

/// Scripts a command may read on its standard input: the bodies of its
/// here-documents, as a shell would read them.
type Stdin = [Rc<str>];

#[derive(Default)]
struct Ctx {
    out: Vec<Vec<String>>,
    seen: HashSet<Vec<String>>,
    /// Commands already unwrapped with here-documents on their input.
    seen_with_stdin: HashSet<(Vec<String>, Vec<Rc<str>>)>,
    /// Here-document bodies already parsed as scripts.
    read_scripts: HashSet<Rc<str>>,
    soft_error: Option<String>,
}

impl Ctx {
    /// Parses `text` as a script whose commands read `stdin` (here-documents
    /// of an enclosing command) besides their own here-documents.
    fn parse_script(&mut self, text: &str, depth: usize, stdin: &Stdin) -> Res<()> {
        if depth > MAX_DEPTH {
            return fail("nesting too deep");
        }
        let chars: Vec<char> = text.chars().collect();
        let mut lexer = Lexer::new(&chars, depth);
        let toks = lexer.lex(false)?;
        let subs = std::mem::take(&mut lexer.subs);
        let docs: Vec<Rc<str>> = lexer
            .heredocs
            .iter()
            .map(|d| Rc::from(d.as_str()))
            .collect();
        let split = split_commands(&toks)?;
        let doc = |i: &usize| docs.get(*i).cloned();
        // A here-document of a compound command feeds every command in it;
        // without the nesting at hand, it is taken to feed every command.
        let mut shared: Vec<Rc<str>> = split.orphans.iter().filter_map(doc).collect();
        shared.extend(stdin.iter().cloned());
        for (raw_words, own) in split.commands {
            let argv = raw_words
                .iter()
                .map(|raw| unquote(raw))
                .collect::<Res<Vec<String>>>()?;
            let mut input: Vec<Rc<str>> = own.iter().filter_map(doc).collect();
            input.extend(shared.iter().cloned());
            self.emit(argv, depth, &input)?;
        }
        for sub in subs {
            self.parse_script(&sub, depth + 1, &shared)?;
        }
        Ok(())
    }

    /// Parses here-document bodies read by a shell as its script.
    fn read_stdin(&mut self, stdin: &Stdin, depth: usize) -> Res<()> {
        for script in stdin {
            if self.read_scripts.insert(script.clone()) {
                self.parse_script(script, depth + 1, &[])?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, argv: Vec<String>, depth: usize, stdin: &Stdin) -> Res<()> {
        if depth > MAX_DEPTH {
            return fail("nesting too deep");
        }
        let Some(first) = argv.first() else {
            return Ok(());
        };
        if let Some(reason) = computed_name(first) {
            self.soft_error.get_or_insert_with(|| reason.to_string());
            return Ok(());
        }
        if self.seen.contains(&argv) {
            // Listed already; unwrapped again only for different input.
            if stdin.is_empty() || !self.seen_with_stdin.insert((argv.clone(), stdin.to_vec())) {
                return Ok(());
            }
        } else {
            if self.out.len() >= MAX_COMMANDS {
                return fail("too many commands");
            }
            self.seen.insert(argv.clone());
            self.out.push(argv.clone());
            if !stdin.is_empty() {
                self.seen_with_stdin.insert((argv.clone(), stdin.to_vec()));
            }
        }
        self.unwrap(&argv, depth, stdin)
    }

    /// Lists what a wrapper command runs. A wrapped command inherits the
    /// wrapper's standard input.
    fn unwrap(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let Some(first) = argv.first() else {
            return Ok(());
        };
        let name = command_name(first);
        match name {
            "sudo" => self.after_options(argv, &SUDO, Then::Assignments, depth, stdin),
            "doas" => self.after_options(argv, &DOAS, Then::Nothing, depth, stdin),
            "pkexec" => self.after_options(argv, &PKEXEC, Then::Nothing, depth, stdin),
            "env" => {
                let spliced = env_split_string(argv)?;
                self.after_options(&spliced, &ENV, Then::Assignments, depth, stdin)
            }
            "command" => self.command_builtin(argv, depth, stdin),
            "builtin" | "nohup" | "busybox" | "coproc" => {
                self.after_options(argv, &NO_OPTIONS, Then::Nothing, depth, stdin)
            }
            "exec" => self.after_options(argv, &EXEC, Then::Nothing, depth, stdin),
            "nice" => self.after_options(argv, &NICE, Then::Nothing, depth, stdin),
            "time" => self.after_options(argv, &TIME, Then::Nothing, depth, stdin),
            "timeout" => self.after_options(argv, &TIMEOUT, Then::Skip(1), depth, stdin),
            "stdbuf" => self.after_options(argv, &STDBUF, Then::Nothing, depth, stdin),
            "setsid" => self.after_options(argv, &SETSID, Then::Nothing, depth, stdin),
            "ionice" => self.after_options(argv, &IONICE, Then::Nothing, depth, stdin),
            "chroot" => self.after_options(argv, &CHROOT, Then::Skip(1), depth, stdin),
            "xargs" => self.xargs(argv, depth, stdin),
            "watch" => self.watch(argv, depth, stdin),
            "find" => self.find(argv, depth, stdin),
            "eval" => {
                let from = if argv.get(1).is_some_and(|w| w == "--") {
                    2
                } else {
                    1
                };
                if argv.len() > from {
                    self.parse_script(&argv[from..].join(" "), depth + 1, stdin)?;
                }
                Ok(())
            }
            "source" | "." => {
                // `source /dev/stdin` reads the here-document as a script.
                let from = if argv.get(1).is_some_and(|w| w == "--") {
                    2
                } else {
                    1
                };
                match argv.get(from) {
                    Some(file) if is_stdin_file(file) => self.read_stdin(stdin, depth),
                    _ => Ok(()),
                }
            }
            "su" | "runuser" => self.su(argv, depth, stdin),
            "git" => self.git_config(argv, depth, stdin),
            "trap" => {
                // `trap [--] COMMAND SIGNAL…` runs COMMAND later.
                let from = if argv.get(1).is_some_and(|w| w == "--") {
                    2
                } else {
                    1
                };
                match argv.get(from) {
                    Some(script) if argv.len() > from + 1 && !script.starts_with('-') => {
                        self.parse_script(script, depth + 1, stdin)
                    }
                    _ => Ok(()),
                }
            }
            _ if SHELLS.contains(&name) => self.shell(argv, depth, stdin),
            _ => Ok(()),
        }
    }

    fn after_options(
        &mut self,
        argv: &[String],
        spec: &Spec,
        then: Then,
        depth: usize,
        stdin: &Stdin,
    ) -> Res<()> {
        for start in command_starts(argv, 1, spec) {
            let mut s = start;
            match then {
                Then::Nothing => {}
                Then::Assignments => {
                    while argv.get(s).is_some_and(|w| is_assignment(w)) {
                        s += 1;
                    }
                }
                Then::Skip(n) => s += n,
            }
            if s < argv.len() {
                self.emit(argv[s..].to_vec(), depth + 1, stdin)?;
            }
        }
        Ok(())
    }

    fn command_builtin(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let mut i = 1;
        while let Some(word) = argv.get(i) {
            if word == "--" {
                i += 1;
                break;
            }
            if word.len() > 1 && word.starts_with('-') {
                if word.contains(['v', 'V']) {
                    // `command -v x` only looks the name up.
                    return Ok(());
                }
                i += 1;
                continue;
            }
            break;
        }
        if i < argv.len() {
            self.emit(argv[i..].to_vec(), depth + 1, stdin)?;
        }
        Ok(())
    }

    fn xargs(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let starts = command_starts(argv, 1, &XARGS);
        if starts.is_empty() {
            let echo = vec!["echo".to_string(), XARGS_INPUT.to_string()];
            return self.emit(echo, depth + 1, stdin);
        }
        for start in starts {
            let mut inner = argv[start..].to_vec();
            inner.push(XARGS_INPUT.to_string());
            self.emit(inner, depth + 1, stdin)?;
        }
        Ok(())
    }

    fn watch(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        for start in command_starts(argv, 1, &WATCH) {
            let exec = argv[1..start].iter().any(|w| {
                w == "--exec" || (w.starts_with('-') && !w.starts_with("--") && w.contains('x'))
            });
            if exec {
                self.emit(argv[start..].to_vec(), depth + 1, stdin)?;
            } else {
                self.parse_script(&argv[start..].join(" "), depth + 1, stdin)?;
            }
        }
        Ok(())
    }

    fn find(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let mut i = 1;
        while i < argv.len() {
            if matches!(argv[i].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                let start = i + 1;
                let mut j = start;
                while j < argv.len()
                    && argv[j] != ";"
                    && !(argv[j] == "+" && j > start && argv[j - 1] == "{}")
                {
                    j += 1;
                }
                if j > start {
                    self.emit(argv[start..j].to_vec(), depth + 1, stdin)?;
                }
                i = j + 1;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    fn su(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let mut i = 1;
        while let Some(word) = argv.get(i) {
            if let Some(value) = word
                .strip_prefix("--command=")
                .or_else(|| word.strip_prefix("--session-command="))
            {
                self.parse_script(value, depth + 1, stdin)?;
            } else if word == "--command" || word == "--session-command" {
                if let Some(value) = argv.get(i + 1) {
                    self.parse_script(value, depth + 1, stdin)?;
                    i += 1;
                }
            } else if word.len() > 1 && word.starts_with('-') && !word.starts_with("--") {
                if let Some(k) = word.find('c') {
                    let attached = &word[k + 1..];
                    if attached.is_empty() {
                        if let Some(value) = argv.get(i + 1) {
                            self.parse_script(value, depth + 1, stdin)?;
                            i += 1;
                        }
                    } else {
                        self.parse_script(attached, depth + 1, stdin)?;
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// `git -c alias.x='!cmd'` and the `-c` settings git runs through the
    /// shell (pager, editor, ssh command, fsmonitor hook).
    fn git_config(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let mut i = 1;
        while let Some(word) = argv.get(i) {
            let setting = if word == "-c" {
                i += 1;
                argv.get(i).map(String::as_str)
            } else {
                word.strip_prefix("-c")
            };
            i += 1;
            let Some((key, value)) = setting.and_then(|s| s.split_once('=')) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            let script = if key.starts_with("alias.") {
                value.strip_prefix('!')
            } else if GIT_SHELL_SETTINGS.contains(&key.as_str()) || key.starts_with("pager.") {
                Some(value)
            } else {
                None
            };
            if let Some(script) = script {
                self.parse_script(script, depth + 1, stdin)?;
            }
        }
        Ok(())
    }

    fn shell(&mut self, argv: &[String], depth: usize, stdin: &Stdin) -> Res<()> {
        let mut i = 1;
        let mut has_c = false;
        let mut has_s = false;
        while let Some(word) = argv.get(i) {
            if word == "--" || word == "-" {
                i += 1;
                break;
            }
            if let Some(long) = word.strip_prefix("--") {
                i += if matches!(long, "rcfile" | "init-file") {
                    2
                } else {
                    1
                };
                continue;
            }
            if word.len() > 1 && (word.starts_with('-') || word.starts_with('+')) {
                let cluster = &word[1..];
                has_c |= cluster.contains('c');
                has_s |= cluster.contains('s');
                // `-o name` / `-O name` take the next word.
                i += 1 + cluster.chars().filter(|c| *c == 'o' || *c == 'O').count();
                continue;
            }
            break;
        }
        if has_c {
            if let Some(script) = argv.get(i) {
                self.parse_script(script, depth + 1, stdin)?;
            }
        } else if has_s || argv.get(i).is_none_or(|file| is_stdin_file(file)) {
            // No script file: the shell reads its script from standard input.
            self.read_stdin(stdin, depth)?;
        }
        Ok(())
    }
}

/// A file name for standard input: `/dev/stdin`, `/dev/fd/0`, `/proc/self/fd/0`.
fn is_stdin_file(file: &str) -> bool {
    matches!(
        normalize_path(file).as_str(),
        "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0"
    )
}

/// `env -S 'a b' c` runs `a b c`: splice the split string into the words.
/// `env -` means `env -i`.
fn env_split_string(argv: &[String]) -> Res<Vec<String>> {
    let mut out: Vec<String> = argv.iter().take(1).cloned().collect();
    let mut i = 1;
    while let Some(word) = argv.get(i) {
        if word == "-" {
            out.push("-i".to_string());
            i += 1;
            continue;
        }
        if word == "--" || !word.starts_with('-') {
            break;
        }
        // The split string and how many words it used, a cluster prefix to
        // keep (`-v` of `-vS`), and how many words an ordinary option takes.
        let mut split: Option<(String, usize)> = None;
        let mut prefix = None;
        let mut width = 1;
        if let Some(rest) = word.strip_prefix("--") {
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (rest, None),
            };
            if name.len() >= 3 && "split-string".starts_with(name) {
                split = match value {
                    Some(v) => Some((v.to_string(), 1)),
                    None => argv.get(i + 1).map(|v| (v.clone(), 2)),
                };
            } else if value.is_none() && matches!(name, "unset" | "chdir") {
                width = 2;
            }
        } else {
            let cluster = &word[1..];
            for (k, c) in cluster.char_indices() {
                if c == 'u' || c == 'C' {
                    if k + 1 == cluster.len() {
                        width = 2;
                    }
                    break;
                }
                if c == 'S' {
                    let attached = &cluster[k + 1..];
                    split = if attached.is_empty() {
                        argv.get(i + 1).map(|v| (v.clone(), 2))
                    } else {
                        Some((attached.to_string(), 1))
                    };
                    if k > 0 {
                        prefix = Some(format!("-{}", &cluster[..k]));
                    }
                    break;
                }
            }
        }
        if let Some((value, used)) = split {
            out.extend(prefix);
            let Some(words) = shlex::split(&value) else {
                return fail("unbalanced quotes in `env -S`");
            };
            out.extend(words);
            out.extend(argv.iter().skip(i + used).cloned());
            return Ok(out);
        }
        out.extend(argv.iter().skip(i).take(width).cloned());
        i += width;
    }
    out.extend(argv.iter().skip(i).cloned());
    Ok(out)
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

/// Equivalent spellings of options, per command (see the module docs).
const EQUIVALENT: &[(&str, &[&str])] = &[
    ("rm", &["-r", "-R", "--recursive"]),
    ("rm", &["-f", "--force"]),
    ("cp", &["-r", "-R", "--recursive"]),
    ("cp", &["-f", "--force"]),
    ("mv", &["-f", "--force"]),
    ("chmod", &["-R", "--recursive"]),
    ("chown", &["-R", "--recursive"]),
    ("chgrp", &["-R", "--recursive"]),
    (
        "git",
        &["-f", "--force", "--force-with-lease", "--force-if-includes"],
    ),
    ("git", &["-d", "--delete"]),
    ("kubectl", &["-n", "--namespace"]),
    ("kubectl", &["-f", "--filename"]),
    ("kubectl", &["-A", "--all-namespaces"]),
    ("sed", &["-i", "--in-place"]),
];

fn pattern_words(pattern: &str, lenient: bool) -> Vec<String> {
    let mut words = match shlex::split(pattern) {
        Some(words) => words,
        None if lenient => pattern.split_whitespace().map(String::from).collect(),
        None => return Vec::new(),
    };
    if let Some(last) = words.last_mut() {
        if let Some(prefix) = last.strip_suffix(":*") {
            if prefix.is_empty() {
                *last = "*".to_string();
            } else {
                *last = prefix.to_string();
                words.push("*".to_string());
            }
        }
    }
    words
}

/// How a word written as exactly one double-quoted command substitution
/// appears in an argument vector.
const QUOTED_SUBSTITUTION: &str = "\"$(...)\"";

/// Options whose next word is their value (a message, a title, a file), for
/// a command and the subcommand words it starts with.
struct ValueOptions {
    path: &'static [&'static str],
    values: &'static [&'static str],
    /// Options known to take no value, so that a value option after them is
    /// not their value; short ones may be clustered before a value option.
    flags: &'static [&'static str],
}

const GIT_COMMIT_FLAGS: &[&str] = &[
    "-a",
    "--all",
    "-p",
    "--patch",
    "-s",
    "--signoff",
    "-n",
    "--no-verify",
    "--verify",
    "-e",
    "--edit",
    "--no-edit",
    "-i",
    "--include",
    "-o",
    "--only",
    "-v",
    "--verbose",
    "-q",
    "--quiet",
    "--amend",
    "--allow-empty",
    "--allow-empty-message",
    "--no-gpg-sign",
    "--reset-author",
];
const GH_MESSAGE: &[&str] = &["-t", "--title", "-b", "--body", "-F", "--body-file"];
const GH_BODY: &[&str] = &["-b", "--body", "-F", "--body-file"];

const VALUE_OPTIONS: &[ValueOptions] = &[
    ValueOptions {
        path: &["git", "commit"],
        values: &["-m", "--message", "-F", "--file"],
        flags: GIT_COMMIT_FLAGS,
    },
    ValueOptions {
        path: &["git", "merge"],
        values: &["-m", "-F", "--file"],
        flags: &["-e", "--edit", "--no-edit", "-n", "-q", "--quiet", "-v"],
    },
    ValueOptions {
        path: &["git", "tag"],
        values: &["-m", "--message", "-F", "--file"],
        flags: &["-a", "--annotate", "-s", "--sign", "-f", "--force", "-e"],
    },
    ValueOptions {
        path: &["git", "stash"],
        values: &["-m", "--message"],
        flags: &["-k", "--keep-index", "-u", "--include-untracked", "-q"],
    },
    ValueOptions {
        path: &["git", "notes"],
        values: &["-m", "--message", "-F", "--file"],
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "pr", "create"],
        values: GH_MESSAGE,
        flags: &["-d", "--draft", "-f", "--fill"],
    },
    ValueOptions {
        path: &["gh", "pr", "edit"],
        values: GH_MESSAGE,
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "pr", "comment"],
        values: GH_BODY,
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "pr", "review"],
        values: GH_BODY,
        flags: &[
            "-a",
            "--approve",
            "-c",
            "--comment",
            "-r",
            "--request-changes",
        ],
    },
    ValueOptions {
        path: &["gh", "pr", "merge"],
        values: &["-t", "--subject", "-b", "--body", "-F", "--body-file"],
        flags: &["-m", "--merge", "-r", "--rebase", "-s", "--squash"],
    },
    ValueOptions {
        path: &["gh", "issue", "create"],
        values: GH_MESSAGE,
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "issue", "edit"],
        values: GH_MESSAGE,
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "issue", "comment"],
        values: GH_BODY,
        flags: &[],
    },
    ValueOptions {
        path: &["gh", "release", "create"],
        values: &["-t", "--title", "-n", "--notes", "-F", "--notes-file"],
        flags: &["-d", "--draft", "-p", "--prerelease"],
    },
];

/// Options a command takes before its subcommand: which take a value, which
/// do not.
fn global_options(command: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match command {
        "git" => (
            &["-C", "-c"],
            &[
                "-p",
                "--paginate",
                "-P",
                "--no-pager",
                "--bare",
                "--no-replace-objects",
                "--literal-pathspecs",
                "--glob-pathspecs",
                "--noglob-pathspecs",
                "--icase-pathspecs",
                "--no-optional-locks",
            ],
        ),
        _ => (&[], &[]),
    }
}

/// `word` is one of `names`, or a cluster of short flags from `flags`
/// ending in a short option from `names` (`-am` for `-a -m`).
fn is_one_of(word: &str, names: &[&str], flags: &[&str]) -> bool {
    if names.contains(&word) {
        return true;
    }
    let Some(cluster) = word.strip_prefix('-') else {
        return false;
    };
    let mut chars: Vec<char> = cluster.chars().collect();
    let Some(last) = chars.pop() else {
        return false;
    };
    !cluster.starts_with('-')
        && !chars.is_empty()
        && names.contains(&format!("-{last}").as_str())
        && chars
            .iter()
            .all(|c| flags.contains(&format!("-{c}").as_str()))
}

/// Whether `argv[at]` is certainly the value of an option in
/// [`VALUE_OPTIONS`]: the word before it is such an option, the command's
/// first positional words are the entry's subcommand words (with only known
/// global options around them), there is no `--` before the option, and the
/// word before the option is not an option that might take it as its value.
fn is_option_value(argv: &[String], at: usize) -> bool {
    let (Some(first), Some(option_at)) = (argv.first(), at.checked_sub(1)) else {
        return false;
    };
    let Some(option) = argv.get(option_at) else {
        return false;
    };
    let name = command_name(first);
    let (global_values, global_flags) = global_options(name);
    VALUE_OPTIONS.iter().any(|entry| {
        let Some((command, path)) = entry.path.split_first() else {
            return false;
        };
        if *command != name || !is_one_of(option, entry.values, entry.flags) {
            return false;
        }
        let before = argv.get(1..option_at).unwrap_or_default();
        let mut path = path.iter();
        let mut expected = path.next();
        let mut i = 0;
        while let Some(word) = before.get(i) {
            i += 1;
            if word == "--" {
                return false;
            }
            let is_opt = word.len() > 1 && word.starts_with('-');
            match (expected, is_opt) {
                (Some(_), true) => {
                    let self_contained = global_flags.contains(&word.as_str())
                        || (word.starts_with("--") && word.contains('='));
                    if global_values.contains(&word.as_str()) {
                        i += 1;
                    } else if !self_contained {
                        return false;
                    }
                }
                (Some(e), false) => {
                    if word != e {
                        return false;
                    }
                    expected = path.next();
                }
                (None, _) => {}
            }
        }
        if expected.is_some() {
            return false;
        }
        match before.last() {
            None => true,
            Some(prev) if prev == QUOTED_SUBSTITUTION => is_option_value(argv, option_at - 1),
            Some(prev) if !prev.starts_with('-') => !is_dynamic(prev) && !has_glob(prev),
            Some(prev) => {
                (prev.starts_with("--") && prev.contains('='))
                    || is_one_of(prev, entry.flags, entry.flags)
            }
        }
    })
}

/// Whether the rule's argument pattern matches the simple command, erring on
/// the side of a match. For deny and require_approval rules.
pub fn matches_loosely(pattern: &str, argv: &[String]) -> bool {
    let words = pattern_words(pattern, true);
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    let Some((argv0, args)) = argv.split_first() else {
        return false;
    };
    let name = command_name(argv0);
    // A name computed at run time could be anything.
    if !(is_dynamic(argv0) || has_glob(argv0)) {
        let wanted = command_name(first);
        if !(wanted == name || glob(wanted, name, false)) {
            return false;
        }
    }
    // What the command's words could be: an unquoted expansion any words at
    // all; a `"$(...)"` one word, which `*` stands for, or nothing but a
    // value where it is the value of an option.
    let mut view: Vec<String> = Vec::with_capacity(args.len());
    let mut opaque_value = false;
    for (k, arg) in args.iter().enumerate() {
        if arg == QUOTED_SUBSTITUTION && is_option_value(argv, k + 1) {
            opaque_value = true;
            continue;
        }
        let word = arg.replace(QUOTED_SUBSTITUTION, "*");
        if is_dynamic(&word) {
            return true;
        }
        view.push(word);
    }
    let args = view.as_slice();
    let mut ordered = Vec::new();
    let mut anywhere = Vec::new();
    let mut options = Vec::new();
    let mut after_option = false;
    for word in rest {
        if word == "*" {
            after_option = false;
        } else if is_option(word) {
            options.push(word.as_str());
            after_option = true;
        } else {
            if after_option {
                anywhere.push(word.as_str());
            } else {
                ordered.push(word.as_str());
            }
            after_option = false;
        }
    }
    options
        .iter()
        .all(|o| option_present(name, o, args, opaque_value))
        && anywhere
            .iter()
            .all(|v| opaque_value || value_present(v, args))
        && {
            let mut remaining = args.iter();
            ordered
                .iter()
                .all(|p| remaining.any(|a| word_matches(p, a)))
        }
}

/// Whether the rule's argument pattern matches the simple command exactly,
/// erring on the side of no match. For allow rules.
pub fn matches_strictly(pattern: &str, argv: &[String]) -> bool {
    let words = pattern_words(pattern, false);
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    let Some((argv0, args)) = argv.split_first() else {
        return false;
    };
    if words.len() == 1 && first == "*" {
        return true;
    }
    if argv0 != first {
        return false;
    }
    let (fixed, open_end) = match rest.split_last() {
        Some((last, init)) if last == "*" => (init, true),
        _ => (rest, false),
    };
    if args.len() < fixed.len() || (!open_end && args.len() != fixed.len()) {
        return false;
    }
    fixed.iter().zip(args).all(|(p, a)| {
        if is_dynamic(a) || has_glob(a) || !glob(p, a, false) {
            return false;
        }
        !a.split('/').any(|s| s == "..") || glob(p, &normalize_path(a), false)
    })
}

fn is_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-') && word != "--"
}

/// A word whose value is only known at run time and may be several words.
fn is_dynamic(word: &str) -> bool {
    word.contains(['$', '`']) || has_brace_expansion(word)
}

fn has_glob(word: &str) -> bool {
    word.contains(['*', '?']) || word.find('[').is_some_and(|i| word[i..].contains(']'))
}

fn has_brace_expansion(word: &str) -> bool {
    word.match_indices('{').any(|(open, _)| {
        let after = &word[open + 1..];
        after
            .find('}')
            .is_some_and(|close| after[..close].contains(',') || after[..close].contains(".."))
    })
}

/// Pattern word against command word, both ways for globs, also after path
/// normalisation, and also against the value of a `key=value` word (not of
/// a `--option=value` word, whose value is only that option's).
fn word_matches(pattern: &str, word: &str) -> bool {
    let once = |p: &str, w: &str| glob(p, w, false) || (has_glob(w) && glob(w, p, true));
    once(pattern, word)
        || ((pattern.contains('/') || word.contains('/'))
            && once(&normalize_path(pattern), &normalize_path(word)))
        || (!word.starts_with("--")
            && word
                .match_indices('=')
                .any(|(i, _)| once(pattern, &word[i + 1..])))
}

/// An option's value, anywhere: a word of its own, or attached to an option.
fn value_present(value: &str, args: &[String]) -> bool {
    args.iter().any(|a| {
        word_matches(value, a)
            || (a.starts_with('-')
                && (a.len() > value.len() && a.ends_with(value)
                    || a.split_once('=')
                        .is_some_and(|(_, v)| word_matches(value, v))))
    })
}

/// `opaque_value`: some option has a value that could be anything.
fn option_present(command: &str, option: &str, args: &[String], opaque_value: bool) -> bool {
    let (spelling, value) = match option.split_once('=') {
        Some((s, v)) if option.starts_with("--") => (s, Some(v)),
        _ => (option, None),
    };
    let present = if spelling.contains(['*', '?']) {
        args.iter().any(|a| {
            glob(spelling, a.split('=').next().unwrap_or(a), false)
                || (has_glob(a) && glob(a, spelling, true))
        })
    } else if spelling.starts_with("--") {
        spelling_present(command, spelling, args)
    } else {
        spelling
            .chars()
            .skip(1)
            .all(|c| spelling_present(command, &format!("-{c}"), args))
    };
    present && value.is_none_or(|v| opaque_value || value_present(v, args))
}

/// One short flag (`-r`) or long option (`--force`), or an equivalent.
fn spelling_present(command: &str, spelling: &str, args: &[String]) -> bool {
    let mut alternatives = vec![spelling];
    for (cmd, group) in EQUIVALENT {
        if *cmd == command && group.contains(&spelling) {
            alternatives.extend(group.iter().copied());
        }
    }
    if command == "git"
        && alternatives.contains(&"--force")
        && args.iter().any(|a| a.len() > 1 && a.starts_with('+'))
    {
        return true;
    }
    alternatives.iter().any(|alt| {
        args.iter().any(|a| {
            if has_glob(a) && glob(a, alt, true) {
                return true;
            }
            if let Some(long) = alt.strip_prefix("--") {
                let given = |w: &str| w.split('=').next().unwrap_or(w).to_string();
                if let Some(name) = a.strip_prefix("--") {
                    let name = given(name);
                    !name.is_empty() && long.starts_with(&name)
                } else if let Some(name) = a.strip_prefix('-') {
                    given(name) == long
                } else {
                    false
                }
            } else {
                let flag = alt.chars().nth(1);
                a.len() > 1
                    && a.starts_with('-')
                    && !a.starts_with("--")
                    && flag.is_some_and(|f| a[1..].contains(f))
            }
        })
    })
}

/// Glob match of a whole word: `*` any run, `?` one character, and with
/// `classes` also `[abc]`, `[a-z]`, `[!a]` (shell pathname patterns).
fn glob(pattern: &str, text: &str, classes: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') if classes => match class_match(&p, pi, t[ti]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (t[ti] == '[').then_some(pi + 1),
            },
            Some(c) => (*c == t[ti]).then_some(pi + 1),
            None => None,
        };
        match step {
            Some(next) => {
                pi = next;
                ti += 1;
            }
            None => match backtrack {
                Some((star, from)) => {
                    pi = star + 1;
                    ti = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == '*')
}

/// A bracket expression at `p[start]`: whether `c` is in it, and the index
/// after it; `None` if it is not closed.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|e| *e != ']') {
            let end = *p.get(i + 2)?;
            if ch <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if ch == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_string()).collect()
    }

    fn cmds(command: &str) -> Vec<Vec<String>> {
        simple_commands(command).unwrap_or_else(|e| panic!("{command:?}: {e}"))
    }

    fn unparsed(command: &str) -> Unparsed {
        match simple_commands(command) {
            Ok(list) => panic!("{command:?} should be refused, got {list:?}"),
            Err(e) => e,
        }
    }

    /// Whether a deny rule catches the command: a loose match on some simple
    /// command, including those recognised before a refusal.
    fn caught(command: &str, pattern: &str) -> bool {
        let list = simple_commands(command).unwrap_or_else(|e| e.partial);
        list.iter().any(|c| matches_loosely(pattern, c))
    }

    /// Whether an allow list lets the command through: parsed, and every
    /// simple command strictly matched by some rule.
    fn allowed(command: &str, allow: &[&str]) -> bool {
        match simple_commands(command) {
            Ok(list) => {
                !list.is_empty()
                    && list
                        .iter()
                        .all(|c| allow.iter().any(|p| matches_strictly(p, c)))
            }
            Err(_) => false,
        }
    }

    const BYPASSES: &[(&str, &str)] = &[
        ("git -C . push", "git push *"),
        ("git --no-pager push origin", "git push *"),
        ("rm -fr /", "rm -rf *"),
        ("rm -r -f /", "rm -rf *"),
        ("/bin/rm -rf /", "rm -rf *"),
        ("\\rm -rf /", "rm -rf *"),
        ("r\"\"m -rf /", "rm -rf *"),
        ("kubectl --context prod apply -f x.yaml", "kubectl apply *"),
        ("ls && rm -rf /", "rm -rf *"),
        ("ls; rm -rf /", "rm -rf *"),
        ("echo $(rm -rf /)", "rm -rf *"),
        ("(rm -rf /)", "rm -rf *"),
        ("ls | xargs rm -rf", "rm -rf *"),
        ("sudo rm -rf /", "rm -rf *"),
        ("env FOO=1 rm -rf /", "rm -rf *"),
        ("FOO=1 rm -rf /", "rm -rf *"),
        ("bash -c \"rm -rf /\"", "rm -rf *"),
        ("sh -c 'git push'", "git push *"),
        ("nohup git push &", "git push *"),
        ("timeout 10 git push", "git push *"),
        ("find . -exec rm -rf {} \\;", "rm -rf *"),
        ("`rm -rf /`", "rm -rf *"),
        ("ls\nrm -rf /", "rm -rf *"),
        ("{ rm -rf /; }", "rm -rf *"),
        ("if true; then rm -rf /; fi", "rm -rf *"),
        ("eval \"rm -rf /\"", "rm -rf *"),
        // More of the same families.
        ("rm -R -f /", "rm -rf *"),
        ("rm --recursive --force /", "rm -rf *"),
        ("rm --rec --for /", "rm -rf *"),
        ("rm / -rf", "rm -rf /"),
        ("rm -rf //", "rm -rf /"),
        ("rm -rf /tmp/..", "rm -rf /"),
        ("rm -rf /*", "rm -rf /"),
        ("rm -rf \"$HOME\"", "rm -rf *"),
        ("X=-rf; rm $X /", "rm -rf *"),
        ("rm * /", "rm -rf *"),
        ("git push -f", "git push --force *"),
        ("git push --force-with-lease origin", "git push --force *"),
        ("git push origin +main", "git push --force *"),
        ("git push -fu origin main", "git push --force *"),
        ("git push --forc", "git push --force *"),
        ("git $(echo push)", "git push *"),
        ("git pu?h", "git push *"),
        ("git -c a.b=c push", "git push *"),
        ("g''it push", "git push *"),
        ("command -p git push", "git push *"),
        ("exec git push", "git push *"),
        ("kubectl apply -n prod -f x", "kubectl -n prod apply *"),
        ("kubectl --namespace=prod apply", "kubectl -n prod apply *"),
        (
            "kubectl apply --namespace prod",
            "kubectl --namespace=prod apply *",
        ),
        ("sudo -u root -- rm -rf /", "rm -rf *"),
        ("sudo -E HOME=/x rm -rf /", "rm -rf *"),
        ("sudo --frobnicate x rm -rf /", "rm -rf *"),
        ("doas -u root rm -rf /", "rm -rf *"),
        ("nice -n 5 rm -rf /", "rm -rf *"),
        ("nice -5 rm -rf /", "rm -rf *"),
        ("time -p rm -rf /", "rm -rf *"),
        ("timeout -s KILL --kill-after=3 10 rm -rf /", "rm -rf *"),
        ("stdbuf -oL -e 0 rm -rf /", "rm -rf *"),
        ("setsid -f rm -rf /", "rm -rf *"),
        ("busybox rm -rf /", "rm -rf *"),
        ("/usr/bin/env -i PATH=/bin rm -rf /", "rm -rf *"),
        ("env -S 'rm -rf' /", "rm -rf *"),
        ("env -vS'rm -rf /'", "rm -rf *"),
        ("env - rm -rf /", "rm -rf *"),
        ("xargs -0 -n1 -I{} rm -rf {}", "rm -rf *"),
        ("ls | xargs rm", "rm -rf *"),
        ("watch 'rm -rf /'", "rm -rf *"),
        ("watch -n 1 -x rm -rf /", "rm -rf *"),
        ("find / -execdir rm -rf {} +", "rm -rf *"),
        ("find . -name x -ok rm -rf {} ';'", "rm -rf *"),
        ("find . -exec sh -c 'rm -rf \"$1\"' _ {} \\;", "rm -rf *"),
        ("bash -lc 'rm -rf /'", "rm -rf *"),
        ("bash -o pipefail -c 'rm -rf /'", "rm -rf *"),
        ("zsh -c 'git push'", "git push *"),
        ("dash -c 'rm -rf /'", "rm -rf *"),
        ("bash -c \"bash -c 'rm -rf /'\"", "rm -rf *"),
        ("su -c 'rm -rf /' root", "rm -rf *"),
        ("su root --command='git push'", "git push *"),
        ("echo \"$(rm -rf /)\"", "rm -rf *"),
        ("echo \"x `rm -rf /` y\"", "rm -rf *"),
        ("echo `echo \\`rm -rf /\\``", "rm -rf *"),
        ("ls > $(rm -rf /)", "rm -rf *"),
        ("diff <(rm -rf /) x", "rm -rf *"),
        ("cat >(rm -rf /)", "rm -rf *"),
        ("x=$(rm -rf /)", "rm -rf *"),
        ("echo ${X:-$(rm -rf /)}", "rm -rf *"),
        ("echo $(( $(rm -rf /) + 1 ))", "rm -rf *"),
        ("echo $(echo $(echo $(rm -rf /)))", "rm -rf *"),
        ("f() { rm -rf /; }", "rm -rf *"),
        ("function f { rm -rf /; }", "rm -rf *"),
        ("while true; do rm -rf /; done", "rm -rf *"),
        ("until false; do git push; done", "git push *"),
        ("for f in a b; do rm -rf $f; done", "rm -rf *"),
        ("for f in $(rm -rf /); do :; done", "rm -rf *"),
        ("case x in x) rm -rf /;; esac", "rm -rf *"),
        ("case x in (x) git push;; esac", "git push *"),
        ("! rm -rf /", "rm -rf *"),
        ("ls || rm -rf /", "rm -rf *"),
        ("ls |& rm -rf /", "rm -rf *"),
        ("ls&&rm -rf /", "rm -rf *"),
        ("ls;rm -rf /", "rm -rf *"),
        ("ls &\nrm -rf /", "rm -rf *"),
        ("ls && \\\nrm -rf /", "rm -rf *"),
        ("rm -rf / 2>&1 >/dev/null", "rm -rf *"),
        ("2>/dev/null rm -rf /", "rm -rf *"),
        ("{x}>/dev/null rm -rf /", "rm -rf *"),
        ("rm -rf / # comment", "rm -rf *"),
        ("[[ -f x ]] && rm -rf /", "rm -rf *"),
        (
            "if [ -f x ]; then :; elif rm -rf /; then :; else git push; fi",
            "git push *",
        ),
        ("sudo env nice git push", "git push *"),
        ("builtin eval 'git push'", "git push *"),
        ("eval -- git push", "git push *"),
        ("trap 'rm -rf /' EXIT", "rm -rf *"),
        ("git -c alias.p=push p origin", "git push *"),
        ("git -c 'alias.x=!rm -rf /' x", "rm -rf *"),
        ("git -c core.pager='rm -rf /' log", "rm -rf *"),
        ("git -ccore.sshCommand='git push' fetch", "git push *"),
        ("coproc rm -rf /", "rm -rf *"),
        ("time (rm -rf /)", "rm -rf *"),
        ("time -p { git push; }", "git push *"),
        ("npm run test --watch", "npm run test:*"),
    ];

    #[test]
    fn every_bypass_is_caught_by_its_deny_rule() {
        for (command, deny) in BYPASSES {
            assert!(
                caught(command, deny),
                "{command:?} escapes {deny:?}: {:?}",
                simple_commands(command)
            );
        }
    }

    #[test]
    fn computed_command_names_are_refused() {
        for command in [
            "$(echo rm) -rf /",
            "`rm -rf /`",
            "$CMD -rf /",
            "${CMD} -rf /",
            "\"$CMD\" x",
            "rm${IFS}-rf${IFS}/",
            "$'\\x72m' -rf /",
            "/bin/r? -rf /",
            "/???/rm -rf /",
            "{rm,-rf,/}",
            "\"\" rm",
            "ls; sudo $X",
            "bash -c '$X'",
        ] {
            let e = unparsed(command);
            assert!(!e.reason.is_empty());
        }
        // What was recognised anyway is reported, for a precise deny message.
        let e = unparsed("`rm -rf /`");
        assert_eq!(e.partial, vec![v(&["rm", "-rf", "/"])]);
        assert!(caught("`rm -rf /`", "rm -rf *"));
        assert_eq!(
            unparsed("$(echo rm) -rf /").partial,
            vec![v(&["echo", "rm"])]
        );
    }

    #[test]
    fn unsplittable_strings_are_refused() {
        for command in [
            "echo 'unbalanced",
            "echo \"x",
            "echo `x",
            "echo $(x",
            "echo ${x",
            "echo $((1+2)",
            "echo \\",
            "(ls",
            "ls)",
            "{ ls",
            "ls; }",
            "if true; then ls",
            "while true; do ls; fi",
            "case x in a) ls",
            "case x a) ls;; esac",
            "ls;; pwd",
            "ls >",
            "ls > ;",
            "((x=1))",
            "a=(1 2)",
            "echo (x)",
            "bash -c 'echo \"'",
            "eval 'ls ('",
            "env -S 'a \"b' c",
            "echo $(case x in a) ls;; esac)",
        ] {
            unparsed(command);
        }
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let sudo = format!("{}ls", "sudo ".repeat(30));
        assert_eq!(unparsed(&sudo).reason, "nesting too deep");
        let subst = format!("{}ls{}", "$(".repeat(40), ")".repeat(40));
        assert_eq!(
            unparsed(&format!("echo {subst}")).reason,
            "nesting too deep"
        );
        let ticks = format!("echo {}", "${x:-".repeat(40));
        unparsed(&ticks);
        let mut script = "rm -rf /".to_string();
        for _ in 0..20 {
            script = format!("bash -c {}", shlex::try_quote(&script).expect("quote"));
        }
        assert_eq!(unparsed(&script).reason, "nesting too deep");
        let many: Vec<String> = (0..1100).map(|i| format!("c{i}")).collect();
        assert_eq!(unparsed(&many.join(";")).reason, "too many commands");
        // A shallow version of each is fine.
        assert!(caught("sudo sudo sudo rm -rf /", "rm -rf *"));
    }

    #[test]
    fn benign_commands_split_as_expected() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("git status", &[&["git", "status"]]),
            (
                "cargo test -- --nocapture",
                &[&["cargo", "test", "--", "--nocapture"]],
            ),
            ("grep -r \"a|b\" src", &[&["grep", "-r", "a|b", "src"]]),
            ("echo 'a; b'", &[&["echo", "a; b"]]),
            (
                "ls -la | head -n 5",
                &[&["ls", "-la"], &["head", "-n", "5"]],
            ),
            ("python3 -c \"print(1)\"", &[&["python3", "-c", "print(1)"]]),
            (
                "python3 -c 'import os; os.system(1)'",
                &[&["python3", "-c", "import os; os.system(1)"]],
            ),
            ("ls -la > out.txt 2>&1", &[&["ls", "-la"]]),
            ("cat < in.txt >> out", &[&["cat"]]),
            ("grep x <<< 'abc'", &[&["grep", "x"]]),
            ("make &> /dev/null", &[&["make"]]),
            ("make 2>err.log >|out <>rw 3<&0", &[&["make"]]),
            ("FOO=1 BAR+=2 A[0]=x make all", &[&["make", "all"]]),
            ("X=1", &[]),
            ("", &[]),
            ("   \n\n ", &[]),
            ("# just a comment", &[]),
            ("ls # && rm -rf /", &[&["ls"]]),
            ("echo a#b", &[&["echo", "a#b"]]),
            (
                "echo if then fi done '}'",
                &[&["echo", "if", "then", "fi", "done", "}"]],
            ),
            ("\"FOO=1\" x", &[&["FOO=1", "x"]]),
            ("echo \"a\\\"b\" 'c\\d'", &[&["echo", "a\"b", "c\\d"]]),
            ("echo a\\ b", &[&["echo", "a b"]]),
            (
                "echo ${HOME:-/tmp} $((1 + 2))",
                &[&["echo", "${HOME:-/tmp}", "$((...))"]],
            ),
            ("echo \"${x// /_}\"", &[&["echo", "${...}"]]),
            (
                "for f in *.rs; do wc -l \"$f\"; done",
                &[&["wc", "-l", "$f"]],
            ),
            (
                "case $x in a|b) echo a;; *) echo other;; esac",
                &[&["echo", "a"], &["echo", "other"]],
            ),
            (
                "[[ -f x && -d y ]] && ls",
                &[&["[[", "-f", "x", "&&", "-d", "y", "]]"], &["ls"]],
            ),
            ("[ -f x ] && ls", &[&["[", "-f", "x", "]"], &["ls"]]),
            (
                "cd dir && (make; make install)",
                &[&["cd", "dir"], &["make"], &["make", "install"]],
            ),
            ("ls; ls", &[&["ls"]]),
            (
                "git commit -m \"$(cat msg.txt)\"",
                &[
                    &["git", "commit", "-m", QUOTED_SUBSTITUTION],
                    &["cat", "msg.txt"],
                ],
            ),
            (
                "echo \"`date`\" \"x$(date)\" $(date)",
                &[
                    &["echo", QUOTED_SUBSTITUTION, "x$(...)", "$(...)"],
                    &["date"],
                ],
            ),
            ("command -v git", &[&["command", "-v", "git"]]),
            ("time ls", &[&["time", "ls"], &["ls"]]),
            ("time (sleep 1)", &[&["sleep", "1"]]),
            ("time -p { ls; }", &[&["ls"]]),
            ("time if true; then ls; fi", &[&["true"], &["ls"]]),
            ("echo done\ndone_x", &[&["echo", "done"], &["done_x"]]),
        ];
        for (command, expected) in cases {
            let expected: Vec<Vec<String>> = expected.iter().map(|c| v(c)).collect();
            assert_eq!(cmds(command), expected, "{command:?}");
        }
    }

    #[test]
    fn wrappers_are_listed_with_what_they_run() {
        let cases: &[(&str, &[&[&str]])] = &[
            (
                "sudo -u root rm -rf /",
                &[
                    &["sudo", "-u", "root", "rm", "-rf", "/"],
                    &["rm", "-rf", "/"],
                ],
            ),
            (
                "env FOO=1 rm -rf /",
                &[&["env", "FOO=1", "rm", "-rf", "/"], &["rm", "-rf", "/"]],
            ),
            (
                "timeout 10 git push",
                &[&["timeout", "10", "git", "push"], &["git", "push"]],
            ),
            (
                "ls | xargs rm -rf",
                &[
                    &["ls"],
                    &["xargs", "rm", "-rf"],
                    &["rm", "-rf", XARGS_INPUT],
                ],
            ),
            ("xargs", &[&["xargs"], &["echo", XARGS_INPUT]]),
            (
                "find . -exec rm -rf {} \\;",
                &[
                    &["find", ".", "-exec", "rm", "-rf", "{}", ";"],
                    &["rm", "-rf", "{}"],
                ],
            ),
            (
                "bash -c 'rm -rf /'",
                &[&["bash", "-c", "rm -rf /"], &["rm", "-rf", "/"]],
            ),
            (
                "echo $(rm -rf /)",
                &[&["echo", "$(...)"], &["rm", "-rf", "/"]],
            ),
            (
                "nice -n 5 nohup git push",
                &[
                    &["nice", "-n", "5", "nohup", "git", "push"],
                    &["nohup", "git", "push"],
                    &["git", "push"],
                ],
            ),
            (
                "env -S 'rm -rf' /",
                &[&["env", "-S", "rm -rf", "/"], &["rm", "-rf", "/"]],
            ),
            ("eval ls -la", &[&["eval", "ls", "-la"], &["ls", "-la"]]),
            (
                "watch -n 2 'ls | wc -l'",
                &[&["watch", "-n", "2", "ls | wc -l"], &["ls"], &["wc", "-l"]],
            ),
            ("bash script.sh", &[&["bash", "script.sh"]]),
        ];
        for (command, expected) in cases {
            let expected: Vec<Vec<String>> = expected.iter().map(|c| v(c)).collect();
            assert_eq!(cmds(command), expected, "{command:?}");
        }
        // An unknown option may or may not take a value: both readings.
        let list = cmds("sudo --frobnicate x rm");
        assert!(list.contains(&v(&["x", "rm"])) && list.contains(&v(&["rm"])));
    }

    #[test]
    fn loose_matching_is_not_indiscriminate() {
        let misses: &[(&str, &[&str])] = &[
            ("git push *", &["git", "pull"]),
            ("git push *", &["git", "status"]),
            ("git push *", &["echo", "git", "push"]),
            ("git push *", &["gitk", "push"]),
            ("rm -rf *", &["rm", "-r", "x"]),
            ("rm -rf *", &["rm", "x"]),
            ("rm -rf *", &["rmdir", "-rf", "x"]),
            ("rm -rf /", &["rm", "-rf", "/tmp/x"]),
            ("rm -rf /", &["rm", "-rf", "build"]),
            ("kubectl apply *", &["kubectl", "get", "pods"]),
            (
                "kubectl -n prod apply *",
                &["kubectl", "-n", "dev", "apply"],
            ),
            ("git push --force *", &["git", "push"]),
            ("git push --force *", &["git", "push", "origin", "main"]),
            ("git push --force *", &["git", "push", "--follow-tags"]),
            ("rm *", &["ls", "-la"]),
            ("rm -rf *", &["rm"]),
            ("chmod -R *", &["chmod", "-r", "x"]),
            ("rm -rf *", &["rm", "-f", "/tmp/*"]),
        ];
        for (pattern, argv) in misses {
            assert!(
                !matches_loosely(pattern, &v(argv)),
                "{pattern:?} matched {argv:?}"
            );
        }
        let hits: &[(&str, &[&str])] = &[
            ("rm -rf *", &["/usr/bin/rm", "-v", "-r", "--force", "x"]),
            ("rm *", &["rm"]),
            ("git push", &["git", "push", "origin"]),
            (
                "git push origin main",
                &["git", "push", "-u", "origin", "HEAD:main", "main"],
            ),
            ("git pu* *", &["git", "pull"]),
            ("* --force *", &["anything", "--force"]),
            ("rm --recursive *", &["rm", "-R", "x"]),
            ("sed -i *", &["sed", "--in-place=.bak", "s/a/b/", "f"]),
            ("terraform -destroy *", &["terraform", "apply", "-destroy"]),
            ("rm -rf *", &["rm", "-rf", "x"]),
        ];
        for (pattern, argv) in hits {
            assert!(
                matches_loosely(pattern, &v(argv)),
                "{pattern:?} missed {argv:?}"
            );
        }
        assert!(!matches_loosely("", &v(&["rm"])));
        assert!(!matches_loosely("rm", &[]));
    }

    #[test]
    fn strict_matching_for_allow_rules() {
        let yes: &[(&str, &[&str])] = &[
            ("git status", &["git", "status"]),
            ("ls *", &["ls"]),
            ("ls *", &["ls", "-la", "src"]),
            ("git st*", &["git", "status"]),
            ("rm build/*", &["rm", "build/x.o"]),
            ("rm build/*", &["rm", "build/../build/x"]),
            ("cd ..", &["cd", ".."]),
            ("npm run test:*", &["npm", "run", "test"]),
            ("npm run test:*", &["npm", "run", "test", "--watch"]),
            ("echo *", &["echo", "$HOME"]),
            ("*", &["anything", "at", "all"]),
            (
                "cargo test -- --nocapture",
                &["cargo", "test", "--", "--nocapture"],
            ),
        ];
        for (pattern, argv) in yes {
            assert!(
                matches_strictly(pattern, &v(argv)),
                "{pattern:?} refused {argv:?}"
            );
        }
        let no: &[(&str, &[&str])] = &[
            ("git status", &["/tmp/x/git", "status"]),
            ("git status", &["/usr/bin/git", "status"]),
            ("git status", &["git", "status", "--short"]),
            ("git status", &["git"]),
            ("git status", &["git", "-C", ".", "status"]),
            ("git status *", &["git", "push"]),
            ("rm build/*", &["rm", "build/../.."]),
            ("rm build/*", &["rm", "build/$X"]),
            ("rm build/*", &["rm", "build/*"]),
            ("rm build/* *", &["rm", "build/{a,b}"]),
            ("cat ?", &["cat", "$(...)"]),
            ("npm run test:*", &["npm", "run", "build"]),
            ("ls 'unbalanced", &["ls", "'unbalanced"]),
            ("", &["ls"]),
        ];
        for (pattern, argv) in no {
            assert!(
                !matches_strictly(pattern, &v(argv)),
                "{pattern:?} allowed {argv:?}"
            );
        }
    }

    #[test]
    fn allow_rules_do_not_let_dangerous_variants_through() {
        let allow = &[
            "git status",
            "git log *",
            "ls *",
            "head *",
            "grep *",
            "echo *",
            "cargo test *",
            "cat *",
        ];
        for command in [
            "git status",
            "git log --oneline -n 5",
            "ls -la | head -n 5",
            "grep -r \"a|b\" src",
            "echo 'a; b'",
            "cargo test -- --nocapture",
            "echo $HOME > out.txt",
        ] {
            assert!(allowed(command, allow), "{command:?} should be allowed");
        }
        for command in [
            "git status; rm -rf /",
            "git status && git push",
            "git status\nrm -rf /",
            "/tmp/x/git status",
            "git -C . status",
            "git status --porcelain",
            "ls && rm -rf /",
            "ls $(rm -rf /)",
            "ls `rm -rf /`",
            "echo \"$(git push)\"",
            "cat <(rm -rf /)",
            "ls > $(rm -rf /)",
            "sudo ls",
            "env ls",
            "nohup ls &",
            "timeout 10 ls",
            "bash -c 'ls'",
            "ls | xargs rm -rf",
            "ls | sh",
            "find . -exec rm {} +",
            "eval ls",
            "$(echo ls)",
            "ls 'unbalanced",
            "(ls) && { ls; rm x; }",
            "X=1 rm -rf /",
            "\\rm -rf /",
            "git log; r\"\"m -rf /",
        ] {
            assert!(
                !allowed(command, allow),
                "{command:?} should not be allowed"
            );
        }
    }

    #[test]
    fn command_names() {
        assert_eq!(command_name("/usr/bin/rm"), "rm");
        assert_eq!(command_name("./x/git"), "git");
        assert_eq!(command_name("git"), "git");
        assert_eq!(command_name("dir/"), "dir");
        assert_eq!(command_name("/"), "/");
        assert_eq!(command_name(""), "");
    }

    #[test]
    fn paths_normalize_lexically() {
        for (path, expected) in [
            ("/tmp/../etc/passwd", "/etc/passwd"),
            ("/tmp/../../etc/passwd", "/etc/passwd"),
            ("//a//b/", "/a/b"),
            ("/", "/"),
            ("//", "/"),
            ("/..", "/"),
            ("/a/b/../../..", "/"),
            ("/a/./b/.", "/a/b"),
            ("a/./b/", "a/b"),
            ("a/../../b", "../b"),
            ("../x", "../x"),
            ("../../x/..", "../.."),
            ("./", "."),
            ("a/..", "."),
            ("src/main.rs", "src/main.rs"),
            ("", ""),
        ] {
            assert_eq!(normalize_path(path), expected, "{path:?}");
        }
    }

    #[test]
    fn glob_and_classes() {
        assert!(glob("a*c", "abbbc", false));
        assert!(glob("*", "", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(glob("pu[s]h", "push", true));
        assert!(glob("[!x]y", "ay", true));
        assert!(!glob("[!a]y", "ay", true));
        assert!(glob("[a-c]", "b", true));
        assert!(glob("[]]", "]", true));
        assert!(glob("[a", "[a", true));
        assert!(!glob("[a]", "a", false));
        assert!(glob("*.rs", "main.rs", false));
        assert!(!glob("*.rs", "main.rsx", false));
    }

    /// The commit Claude Code writes.
    const HEREDOC_COMMIT: &str = "git commit -m \"$(cat <<'EOF'\nFix the parser (again); it's \"done\".\n\n$(rm -rf /) `reboot`\n  EOF\nCo-Authored-By: Claude <noreply@anthropic.com>\nEOF\n)\"";

    #[test]
    fn heredocs_split_as_expected() {
        let cases: &[(&str, &[&[&str]])] = &[
            (
                HEREDOC_COMMIT,
                &[&["git", "commit", "-m", QUOTED_SUBSTITUTION], &["cat"]],
            ),
            (
                "git add -A && git commit -m \"$(cat <<'EOF'\nx\nEOF\n)\" && git log -1",
                &[
                    &["git", "add", "-A"],
                    &["git", "commit", "-m", QUOTED_SUBSTITUTION],
                    &["git", "log", "-1"],
                    &["cat"],
                ],
            ),
            (
                "cat > a.py <<'EOF'\nimport os; os.system(\"rm -rf /\")\nEOF",
                &[&["cat"]],
            ),
            (
                "python3 - <<'EOF'\nimport os\nos.system('rm -rf /')\nEOF\necho done",
                &[&["python3", "-"], &["echo", "done"]],
            ),
            // Quoted delimiters: the body is data.
            ("cat <<'EOF'\n$(rm -rf /)\nEOF", &[&["cat"]]),
            ("cat <<\"EOF\"\n$(rm -rf /)\nEOF", &[&["cat"]]),
            ("cat <<\\EOF\n`rm -rf /`\nEOF", &[&["cat"]]),
            ("cat <<E\"OF\"\n$(rm -rf /)\nEOF", &[&["cat"]]),
            ("cat << 'EOF'\n$(rm -rf /)\nEOF\n", &[&["cat"]]),
            // Unquoted: substitutions in the body run.
            (
                "cat <<EOF\n$(rm -rf /)\nEOF",
                &[&["cat"], &["rm", "-rf", "/"]],
            ),
            (
                "cat <<EOF >out\n'$(whoami)' \"`id`\" ${X:-$(date)} $HOME \\$(no) \\`no\\`\nEOF",
                &[&["cat"], &["whoami"], &["id"], &["date"]],
            ),
            ("cat <<EOF\n$HOME ${PATH} $((1 << 2))\nEOF", &[&["cat"]]),
            // Several here-documents on one line take their bodies in order.
            (
                "cat <<A - <<'B'; ls\n$(whoami)\nA\n$(rm -rf /)\nB\npwd",
                &[&["cat", "-"], &["ls"], &["pwd"], &["whoami"]],
            ),
            (
                "cat <<'A' && cat <<B\n$(rm -rf /)\nA\n$(id)\nB",
                &[&["cat"], &["id"]],
            ),
            // `<<-` strips leading tabs, also from the delimiter line.
            (
                "if true; then\n\tcat <<-EOF\n\t\t$(id)\n\tEOF\n\tls\nfi",
                &[&["true"], &["cat"], &["ls"], &["id"]],
            ),
            // The delimiter must be the whole line.
            (
                "cat <<EOF\n EOF\nEOF \nEOFx\n\tEOF\nEOF\nls",
                &[&["cat"], &["ls"]],
            ),
            ("cat <<''\nbody\n\nls", &[&["cat"], &["ls"]]),
            ("cat <<EOF # note\nx\nEOF", &[&["cat"]]),
            ("2<<EOF cat\nx\nEOF", &[&["cat"]]),
            ("grep x <<< 'abc'", &[&["grep", "x"]]),
            // Bodies start after the line's last line break token, so a
            // multi-line quoted word comes first.
            (
                "cat <<EOF; echo \"a\nb\"\nx\nEOF",
                &[&["cat"], &["echo", "a\nb"]],
            ),
            ("cat <<EOF && \\\nls\nx\nEOF", &[&["cat"], &["ls"]]),
            // Unquoted: a backslash-newline joins lines before the
            // delimiter is compared, as bash does.
            ("cat <<EOF\nx\\\nEOF\nrm -rf /\nEOF", &[&["cat"]]),
            (
                "cat <<'EOF'\nx\\\nEOF\nrm -rf /",
                &[&["cat"], &["rm", "-rf", "/"]],
            ),
            (
                "cat <<EOF\nx\\\\\nEOF\nrm -rf /",
                &[&["cat"], &["rm", "-rf", "/"]],
            ),
            // A here-document inside a here-document's substitution.
            ("cat <<A\n$(cat <<B\n$(id)\nB\n)\nA", &[&["cat"], &["id"]]),
            // A while loop fed a here-document.
            (
                "while read -r f; do echo \"$f\"; done <<'EOF'\na\nb\nEOF",
                &[&["read", "-r", "f"], &["echo", "$f"]],
            ),
        ];
        for (command, expected) in cases {
            let expected: Vec<Vec<String>> = expected.iter().map(|c| v(c)).collect();
            assert_eq!(cmds(command), expected, "{command:?}");
        }
    }

    #[test]
    fn shells_reading_heredocs_run_them() {
        let cases: &[(&str, &[&[&str]])] = &[
            (
                "bash <<'EOF'\nrm -rf /\nEOF",
                &[&["bash"], &["rm", "-rf", "/"]],
            ),
            (
                "sh <<EOF\necho \\$(rm -rf /) $HOME\nEOF",
                &[&["sh"], &["echo", "$(...)", "$HOME"], &["rm", "-rf", "/"]],
            ),
            (
                "sudo -u root bash -s -- x <<'EOF'\ngit push\nEOF",
                &[
                    &["sudo", "-u", "root", "bash", "-s", "--", "x"],
                    &["bash", "-s", "--", "x"],
                    &["git", "push"],
                ],
            ),
            (
                "bash /dev/stdin <<'EOF'\ngit push\nEOF",
                &[&["bash", "/dev/stdin"], &["git", "push"]],
            ),
            (
                "source /dev/stdin <<'EOF'\ngit push\nEOF",
                &[&["source", "/dev/stdin"], &["git", "push"]],
            ),
            (
                ". /dev/fd/0 <<'EOF'\ngit push\nEOF",
                &[&[".", "/dev/fd/0"], &["git", "push"]],
            ),
            (
                "bash -c 'sh' <<'EOF'\ngit push\nEOF",
                &[&["bash", "-c", "sh"], &["sh"], &["git", "push"]],
            ),
            (
                "while true; do sh; done <<'EOF'\ngit push\nEOF",
                &[&["true"], &["sh"], &["git", "push"]],
            ),
            (
                "{ ls; bash; } <<'EOF'\ngit push\nEOF",
                &[&["ls"], &["bash"], &["git", "push"]],
            ),
            (
                "bash <<'A'\ncat <<'B'\nrm -rf /\nB\nbash <<'C'\ngit push\nC\nA",
                &[&["bash"], &["cat"], &["git", "push"]],
            ),
            (
                "bash <<A; bash <<B\nls\nA\npwd\nB",
                &[&["bash"], &["ls"], &["pwd"]],
            ),
            // The body is data for a script file, `-c` string or other tool.
            (
                "bash script.sh <<'EOF'\nrm -rf /\nEOF",
                &[&["bash", "script.sh"]],
            ),
            (
                "bash -c 'cat' <<'EOF'\nrm -rf /\nEOF",
                &[&["bash", "-c", "cat"], &["cat"]],
            ),
            ("source x.sh <<'EOF'\nrm -rf /\nEOF", &[&["source", "x.sh"]]),
            (
                "eval cat <<'EOF'\nrm -rf /\nEOF",
                &[&["eval", "cat"], &["cat"]],
            ),
            ("perl <<'EOF'\nsystem('rm -rf /')\nEOF", &[&["perl"]]),
            // Known limit: a shell fed by a pipe is not looked into.
            ("cat <<'EOF' | sh\nrm -rf /\nEOF", &[&["cat"], &["sh"]]),
        ];
        for (command, expected) in cases {
            let expected: Vec<Vec<String>> = expected.iter().map(|c| v(c)).collect();
            assert_eq!(cmds(command), expected, "{command:?}");
        }
        // A computed script is not analysable.
        let e = unparsed("bash <<EOF\n$CMD\nEOF");
        assert_eq!(e.reason, "command name is computed at run time");
        assert!(caught("bash <<EOF\n$(echo rm) -rf /\nEOF", "echo *"));
        // Deeply nested here-documents are bounded like other nesting.
        let mut script = "rm -rf /".to_string();
        for i in 0..20 {
            script = format!("bash <<'E{i}'\n{script}\nE{i}");
        }
        assert_eq!(unparsed(&script).reason, "nesting too deep");
        // Many shells sharing one body parse it once.
        let mut script = "rm -rf /".to_string();
        for i in 0..12 {
            script = format!("{{ bash; bash -e; bash -u; bash -x; }} <<'E{i}'\n{script}\nE{i}");
        }
        assert!(caught(&script, "rm -rf *"));
    }

    #[test]
    fn broken_heredocs_are_refused() {
        for command in [
            "cat <<EOF",
            "cat <<EOF\nbody",
            "cat <<EOF\nbody\nEOF \n",
            "cat <<EOF\nbody\n\tEOF",
            "cat <<-EOF\nbody\n  EOF",
            "cat <<A <<B\na\nA\nb",
            "cat <<",
            "cat <<\nEOF\nEOF",
            "cat << ;",
            "cat <<$X\nx\n$X",
            "cat <<`x`\nx\n`x`",
            "cat <<$(x)\nx\n$(x)",
            "echo \"$(cat <<EOF\nbody\nEOF)\"",
            "echo $(cat <<EOF) x\nbody\nEOF",
            "cat <<EOF $(echo a\necho b)\nbody\nEOF",
            "cat <<EOF\n$(rm -rf /\nEOF",
            "[[ x <<EOF ]]\nEOF",
        ] {
            unparsed(command);
        }
    }

    #[test]
    fn heredoc_commits_are_not_taken_for_other_commands() {
        let commit = HEREDOC_COMMIT;
        assert!(caught(commit, "git commit *"));
        assert!(caught(commit, "git commit -m WIP *"));
        assert!(caught(commit, "cat *"));
        for deny in [
            "git push *",
            "git push --force *",
            "git commit --no-verify *",
            "git commit --amend *",
            "rm -rf *",
            "reboot",
        ] {
            assert!(!caught(commit, deny), "{deny:?}");
        }
        assert!(allowed(commit, &["git commit -m *", "cat"]));
        assert!(!allowed(commit, &["git commit -m *"]));
        assert!(!allowed(commit, &["git commit -m ?", "cat"]));
        let values = [
            "git commit -am \"$(cat <<'EOF'\nx\nEOF\n)\"",
            "git commit -a -s --amend -m \"$(cat <<'EOF'\nx\nEOF\n)\"",
            "git -C repo --no-pager commit -m \"$(cat <<'EOF'\nx\nEOF\n)\"",
            "git commit -m \"$(cat a)\" -m \"$(cat b)\"",
            "git commit --message=\"$(cat a)\"",
            "git commit -F \"$(mktemp)\" --no-edit",
            "git commit file.rs -m \"$(cat a)\"",
            "git tag -a v1 -m \"$(cat a)\"",
            "git stash -m \"$(cat a)\"",
            "git merge --no-edit -m \"$(cat a)\" main",
        ];
        for command in values {
            assert!(!caught(command, "git push *"), "{command:?}");
        }
        let pr = "gh pr create --title \"Fix\" --body \"$(cat <<'EOF'\n## Summary\n- gh pr merge\nEOF\n)\"";
        assert!(!caught(pr, "gh pr merge *"));
        assert!(caught(pr, "gh pr create *"));
        // Not certainly an option's value: could be anything.
        for (command, deny) in [
            ("git $(echo push) origin", "git push *"),
            ("git \"$(echo push)\" origin", "git push *"),
            ("git commit -m $(cat <<EOF\nx\nEOF\n)", "git push *"),
            (
                "git commit -m $(echo x --no-verify)",
                "git commit --no-verify *",
            ),
            (
                "git commit --message=$(echo x --no-verify)",
                "git commit --no-verify *",
            ),
            (
                "git commit \"$(echo --no-verify)\" -m x",
                "git commit --no-verify *",
            ),
            ("git checkout -m \"$(echo -f)\" main", "git checkout -f *"),
            ("git --git-dir x commit -m \"$(echo push)\"", "git push *"),
            (
                "git --git-dir commit checkout -m \"$(echo -f)\"",
                "git checkout -f *",
            ),
            (
                "git commit --author -m \"$(echo --no-verify)\"",
                "git commit --no-verify *",
            ),
            (
                "git commit -Cm \"$(echo --no-verify)\"",
                "git commit --no-verify *",
            ),
            ("git commit -- -m \"$(echo push)\"", "git push *"),
            ("git commit * -m \"$(echo push)\"", "git push *"),
            ("git \"$(echo commit)\" -m \"$(echo push)\"", "git push *"),
            (
                "gh pr \"$(echo merge)\" --body \"$(cat b)\"",
                "gh pr merge *",
            ),
            ("rm \"$(echo -rf)\" /", "rm -rf *"),
            ("rm -rf \"$(pwd)\"", "rm -rf /"),
            ("rm -\"$(echo rf)\" /", "rm -rf *"),
            (
                "kubectl --context \"$(echo prod)\" apply",
                "kubectl --context prod *",
            ),
            ("git -c alias.p=\"$(echo push)\" p", "git push *"),
        ] {
            assert!(caught(command, deny), "{command:?} escapes {deny:?}");
        }
        // One word is one word.
        assert!(!caught("git \"$(echo push)\"", "git push origin *"));
        assert!(!caught(
            "git commit --message=\"$(cat a)\"",
            "git commit --no-verify *"
        ));
        assert!(!caught("git commit --message=push", "git push *"));
    }

    /// Never panics, whatever the input.
    #[test]
    fn garbage_never_panics() {
        const ALPHABET: &[&str] = &[
            " ",
            "\t",
            "\n",
            "a",
            "rm",
            "-",
            "-rf",
            "/",
            ".",
            "..",
            "*",
            "?",
            "[",
            "]",
            "{",
            "}",
            "(",
            ")",
            "$",
            "$(",
            "${",
            "$((",
            "`",
            "'",
            "\"",
            "\\",
            ";",
            ";;",
            "&",
            "&&",
            "|",
            "||",
            "<",
            ">",
            "<<",
            "<<<",
            ">&",
            "2",
            "#",
            "=",
            "X=",
            "!",
            "~",
            ",",
            "if",
            "then",
            "fi",
            "do",
            "done",
            "case",
            "in",
            "esac",
            "for",
            "[[",
            "]]",
            "sudo",
            "env",
            "-c",
            "bash",
            "xargs",
            "find",
            "-exec",
            "eval",
            "é",
            "\u{0}",
            "\r",
            "function",
            "+",
            "<<-",
            "<<E",
            "<<'E'",
            "<<\"E\"",
            "\nE",
            "\nE\n",
            "\n\tE\n",
            "E",
            "\"$(",
            "-m",
            "git",
            "commit",
            "/dev/stdin",
            "source",
            "sh",
            "-s",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut heredocs_parsed = 0;
        for _ in 0..40_000 {
            let len = (next() % 24) as usize;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let pattern: String = (0..(next() % 6) as usize)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let result = simple_commands(&text);
            if result.is_ok() && text.contains("<<") && !text.contains("<<<") {
                heredocs_parsed += 1;
            }
            let list = result.unwrap_or_else(|e| e.partial);
            for argv in &list {
                let _ = matches_loosely(&pattern, argv);
                let _ = matches_strictly(&pattern, argv);
                if let Some(first) = argv.first() {
                    let _ = command_name(first);
                }
            }
            let words: Vec<String> = text.split(' ').map(String::from).collect();
            let _ = matches_loosely(&text, &words);
            let _ = matches_strictly(&text, &words);
            let _ = matches_loosely(&pattern, &words);
            let _ = normalize_path(&text);
            let _ = command_name(&text);
            let _ = glob(&pattern, &text, true);
        }
        assert!(heredocs_parsed > 0);
    }
}
