//! The known forms of prompt injection as one multi-pattern regex: every rule is a pattern of one
//! `regex_automata` meta regex, so a text is searched once for all of them. The rules share no
//! literal for a prefilter to jump to, so that search reads every byte; a [`Screen`] of the same
//! patterns first finds, at about twice the speed, the ranges where matches can be (none, in
//! almost every text), and the regex searches only those. Each match names its rule; the caller
//! weighs it.

use regex_automata::{Input, Match, meta::Regex};

use super::screen::{Regions, Screen};

/// What a rule's match says about the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Words addressed to the model: override, role play, fake turns and delimiters.
    Instruction,
    /// Moving data out: send it somewhere, or render an image whose URL carries it.
    Exfiltration,
    /// Styling that hides an element. Not an instruction by itself.
    InvisibleCss,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub id: &'static str,
    /// How sure a match alone makes us, in [0, 1]; 0.5 and above flags at the default
    /// threshold on its own.
    pub weight: f32,
    pub family: Family,
    /// Regex syntax; `\b` is rewritten to an ASCII word boundary so the lazy DFA can run it.
    pattern: &'static str,
}

/// Leftmost-first: where two rules match at the same place, the one listed first wins, so the
/// specific forms come before the generic ones.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        id: "injection.ignore_previous",
        weight: 0.9,
        family: Family::Instruction,
        pattern: r"(?i)\bignore\s+(?:(?:all|any|the|your|of|these|those|my|every|previous|prior|above|earlier|preceding)\s+){0,3}(?:previous|prior|above|earlier|preceding|foregoing|original|former|system|existing|initial)\s+(?:instructions?|prompts?|directions?|directives?|rules|guidelines|commands?|context|messages?|orders|tasks?|text)\b|\bignore\s+(?:everything|all|anything)\s+(?:(?:you\s+(?:were|have\s+been)\s+told\s+)|(?:said\s+|written\s+|stated\s+)?)(?:above|before|earlier|previously|so\s+far)\b|\bignore\s+the\s+above\b|\bignoriere\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|vorigen)\s+(?:anweisungen|befehle|instruktionen)|\bignorez?\s+(?:toutes\s+)?les\s+instructions\s+pr[ée]c[ée]dentes|\bignora\s+(?:todas\s+)?las\s+instrucciones\s+anteriores|(?:以前|前)の指示を無視|忽略(?:之前|以上|上面|先前)的?(?:所有)?(?:指令|指示)",
    },
    Rule {
        id: "injection.disregard_previous",
        weight: 0.9,
        family: Family::Instruction,
        pattern: r"(?i)\b(?:disregard|override|bypass|overrule)\s+(?:(?:all|any|the|your|of|these|those|my|previous|prior|above|earlier)\s+){0,3}(?:previous|prior|above|earlier|preceding|foregoing|original|former|system|existing|initial|safety)\s+(?:instructions?|prompts?|directions?|directives?|rules|guidelines|commands?|context|messages?|guardrails|restrictions|policies)\b|\bdisregard\s+(?:everything|all|anything)\s+(?:above|before|earlier|previously)\b|\bdisregard\s+the\s+above\b",
    },
    Rule {
        id: "injection.forget_instructions",
        weight: 0.85,
        family: Family::Instruction,
        pattern: r"(?i)\bforget\s+(?:(?:all|any|the|your|about|of|everything|previous|prior|above|earlier|original)\s+){0,3}(?:instructions?|prompts?|rules|guidelines|directions?|programming|training)\b|\bforget\s+(?:everything|all|what)\s+(?:you\s+(?:were|have\s+been)\s+told|(?:above|before|earlier|so\s+far))\b",
    },
    Rule {
        id: "injection.you_are_now",
        weight: 0.7,
        family: Family::Instruction,
        pattern: r"(?i)\byou\s+are\s+now\s+(?:(?:an?|the|my)\s+(?:[a-z-]+\s+){0,2}(?:ai|assistant|model|chatbot|bot|agent|hacker|persona|character|dan)\b|dan\b|in\s+(?:[a-z-]+\s+)?mode\b|no\s+longer\s+(?:bound|restricted|limited|an?\s+(?:ai|assistant|language\s+model)|claude|chatgpt)\b|(?:free|unrestricted|jailbroken|unfiltered|uncensored|unbound)\b)|\bfrom\s+now\s+on,?\s+you\s+(?:are|will\s+(?:act|behave|respond|answer|ignore|only)|must\s+(?:act|ignore|respond|answer)|shall)\b",
    },
    Rule {
        id: "injection.new_instructions",
        weight: 0.7,
        family: Family::Instruction,
        pattern: r"(?i)\b(?:new|updated|revised|real|actual|true|additional|secret|hidden|important)\s+(?:system\s+)?(?:instructions?|directives?|orders|task)\s*:|\b(?:end|stop)\s+of\s+(?:the\s+)?(?:system\s+)?(?:prompt|instructions)\b",
    },
    Rule {
        id: "injection.addressed_to_model",
        weight: 0.6,
        family: Family::Instruction,
        pattern: r"(?i)\b(?:note|message|instructions?|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llm|llms|assistant|language\s+models?|chatbots?|ai\s+(?:assistant|agent|model)s?)\b|\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|ai\s+(?:assistant|agent|model)|chatbot|assistant\s+reading)\b|\b(?:attention|hey|dear)\s*,?\s+(?:ai|llm|assistant|chatbot|claude|chatgpt|gpt)\b\s*[,:!]",
    },
    Rule {
        id: "injection.conceal_from_user",
        weight: 0.6,
        family: Family::Instruction,
        pattern: r"(?i)\b(?:do\s+not|don't|never)\s+(?:tell|inform|alert|notify|warn|show)\s+the\s+user\b|\bwithout\s+(?:telling|informing|alerting|notifying|asking)\s+the\s+user\b|\b(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose)\s+(?:these|this|the)\s+instructions?\b",
    },
    Rule {
        id: "injection.chat_template",
        weight: 0.8,
        family: Family::Instruction,
        pattern: r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<\|(?:system|user|assistant)\|>|<\|start_header_id\|>|<\|eot_id\|>|\[/?INST\]|<</?SYS>>",
    },
    Rule {
        id: "injection.fake_closing_tag",
        weight: 0.6,
        family: Family::Instruction,
        pattern: r"(?i)</\s*(?:tool_result|tool_use|function_results?|function_calls|document|documents|document_content|search_results?|tool_output|untrusted[a-z_]*|user_input|instructions|system_prompt)\s*>",
    },
    Rule {
        id: "injection.role_tag",
        weight: 0.45,
        family: Family::Instruction,
        pattern: r"(?im)^[ \t>#*]*(?:\[\s*(?:system|admin|developer|sys)\s*\]|<\s*(?:system|system_prompt)\s*>|(?:system|admin|developer)\s*(?:prompt|message|override|instruction|note)?\s*:)",
    },
    Rule {
        id: "injection.turn_marker",
        weight: 0.55,
        family: Family::Instruction,
        pattern: r"(?m)^[ \t]*(?:Human|Assistant|HUMAN|ASSISTANT)\s*:\s*\S",
    },
    Rule {
        id: "injection.exfil_send",
        weight: 0.8,
        family: Family::Exfiltration,
        pattern: r"(?i)\b(?:send|forward|post|upload|transmit|e-?mail|leak|exfiltrate|share|submit|copy|paste|append|include)\b[^\n]*?\b(?:conversation|chat\s+(?:history|log|transcript)|(?:previous|prior|earlier|all)\s+messages|secrets?|api[\s_-]?keys?|passwords?|passwd|credentials?|access\s+tokens?|auth(?:entication)?\s+tokens?|system\s+prompt|session\s+(?:cookies?|tokens?)|cookies|environment\s+variables|env\s+vars?|ssh\s+keys?|private\s+keys?|\.env\b|/etc/passwd|id_rsa)\b[^\n]*?\b(?:to|at|into|via|using)\s+(?:<?https?://|www\.|[a-z0-9.+_-]+@[a-z0-9-]+\.[a-z]|(?:this|that|the\s+following|the\s+below|my|our)\s+(?:url|address|endpoint|email|webhook|server|link|site))",
    },
    Rule {
        id: "injection.exfil_send",
        weight: 0.45,
        family: Family::Exfiltration,
        pattern: r"(?i)\b(?:send|forward|post|upload|transmit|leak|exfiltrate)\b[^\n]*?\b(?:all|every|the\s+user'?s?|local|their|user)\s+(?:files|data|documents|messages|history|contacts|emails)\b[^\n]*?\b(?:to|at|into)\s+(?:<?https?://|www\.|[a-z0-9.+_-]+@[a-z0-9-]+\.[a-z])",
    },
    Rule {
        id: "injection.exfil_image",
        weight: 0.85,
        family: Family::Exfiltration,
        pattern: r"(?i)!\[[^\]\n]*\]\(\s*<?https?://[^)\s?]+\?[^)\s]*?(?:[{}$<>\[\]]|%7b|%5b|%3c|\b(?:data|conversation|chat|history|secret|key|token|password|summary|info|q|msg|message|context|prompt|memory|user)=)[^)\s]*\)",
    },
    Rule {
        id: "injection.exfil_image_query",
        weight: 0.3,
        family: Family::Exfiltration,
        pattern: r"(?i)!\[[^\]\n]*\]\(\s*<?https?://[^)\s?]+\?[^)\s]*=[^)\s]*\)",
    },
    Rule {
        id: "injection.invisible_css",
        weight: 0.3,
        family: Family::InvisibleCss,
        pattern: r#"(?i)\bstyle\s*=\s*["'](?:[^"'>]*?[;\s])?\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*[;"'!]|opacity\s*:\s*0(?:\.0+)?\s*[;"'!]|color\s*:\s*(?:white|#fff(?:fff)?\b|transparent|rgba\([^)]*,\s*0\s*\))|(?:height|width|max-height)\s*:\s*0(?:px)?\s*;[^"'>]*?overflow\s*:\s*hidden|(?:left|top|text-indent)\s*:\s*-\d{4,})"#,
    },
];

/// All the rules, compiled into one automaton, with a screen that passes clean text faster.
pub(crate) struct Rules {
    regex: Regex,
    screen: Screen,
}

/// One rule match: the rule and where it starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pub rule: &'static Rule,
    pub start: usize,
}

impl Rules {
    pub fn new() -> Result<Self, String> {
        // The lazy DFA cannot do Unicode word boundaries; an ASCII boundary is what the
        // patterns mean anyway (their words are ASCII).
        let patterns: Vec<String> = RULES
            .iter()
            .map(|r| r.pattern.replace(r"\b", r"(?-u:\b)"))
            .collect();
        let regex = Regex::builder()
            .configure(Regex::config().nfa_size_limit(Some(1 << 24)))
            .build_many(&patterns)
            .map_err(|e| e.to_string())?;
        let screen = Screen::new(&patterns)?;
        Ok(Self { regex, screen })
    }

    /// Calls `on_hit` for every match, left to right: one search, over the whole text or over
    /// the regions the screen found (which hold every match there is).
    pub fn scan(&self, text: &str, mut on_hit: impl FnMut(Hit)) {
        self.for_each_match(text, |m| {
            if let Some(rule) = RULES.get(m.pattern().as_usize()) {
                on_hit(Hit {
                    rule,
                    start: m.start(),
                });
            }
        });
    }

    /// The regex's matches, searched where the screen says they can be.
    fn for_each_match(&self, text: &str, mut f: impl FnMut(Match)) {
        let mut search = |input: Input<'_>| self.regex.find_iter(input).for_each(&mut f);
        match self.screen.regions(text.as_bytes()) {
            Regions::None => {}
            // The span limits where matches are looked for; look-around still sees the text
            // around it, so a match reads as it would in a search of the whole text.
            Regions::Within(ranges) => {
                for r in ranges {
                    search(Input::new(text).span(r));
                }
            }
            Regions::Anywhere => search(Input::new(text)),
        }
    }

    /// The matches (rule index, start, end) of the regex over the whole text, those
    /// [`Rules::scan`] finds, and the screen's regions.
    #[cfg(test)]
    pub fn whole_and_screened(&self, text: &str) -> (MatchList, MatchList, Regions) {
        let triple = |m: Match| (m.pattern().as_usize(), m.start(), m.end());
        let whole = self.regex.find_iter(text).map(triple).collect();
        let mut screened = Vec::new();
        self.for_each_match(text, |m| screened.push(triple(m)));
        (whole, screened, self.screen.regions(text.as_bytes()))
    }
}

#[cfg(test)]
pub type MatchList = Vec<(usize, usize, usize)>;
