//! The policy loader on any text: it must not panic; a file it refuses gets errors that name
//! the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A directory with no word lists: references to them are errors, not panics.
    let file = Path::new("/nonexistent/warden-fuzz/team.yaml");
    if let Err(errors) = warden::policy::compile_text(file, text) {
        assert!(!errors.is_empty());
        assert!(errors.iter().all(|e| e.file == file));
    }
});
