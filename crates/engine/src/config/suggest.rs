//! "Did you mean ...?" for misspelled keys and aliases.

/// The candidate closest to `word` by edit distance (Damerau-Levenshtein:
/// a swapped pair of letters counts as one edit), if it is close enough to
/// be a plausible misspelling: at most one edit per four characters, and
/// never more than three. Ties go to the earliest candidate.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let allowed = (1 + word.chars().count() / 4).min(3);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::closest;

    const KEYS: &[&str] = &["tasks.max", "topics", "topics.exclude", "bootstrap.servers"];

    #[test]
    fn misspellings_find_the_key() {
        assert_eq!(
            closest("tasks.maks", KEYS.iter().copied()),
            Some("tasks.max")
        );
        assert_eq!(closest("topicz", KEYS.iter().copied()), Some("topics"));
        assert_eq!(closest("tpoics", KEYS.iter().copied()), Some("topics"));
        assert_eq!(
            closest("bootstrap.server", KEYS.iter().copied()),
            Some("bootstrap.servers")
        );
    }

    #[test]
    fn unrelated_words_find_nothing() {
        assert_eq!(closest("foo", KEYS.iter().copied()), None);
        assert_eq!(closest("retention.ms", KEYS.iter().copied()), None);
        assert_eq!(closest("tasks.max", KEYS.iter().copied()), None);
    }
}
