//! Whole-number options read with one set of messages: clap's own parser
//! says "number too large to fit in target type" for a value past the
//! type, where the limit options say what the largest is.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A parser for a whole-number option within `range`: refused as not a
/// whole number, as too large (naming the largest), or as outside the
/// range.
pub fn whole<T>(range: RangeInclusive<T>) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let (lo, hi) = (*range.start(), *range.end());
        let shown = impasto::scene::quoted(s);
        match s.parse::<T>() {
            Ok(n) if n > hi => Err(format!("{shown} is too large (the largest is {hi})")),
            Ok(n) if n < lo => Err(format!("{shown} is too small (the least is {lo})")),
            Ok(n) => Ok(n),
            // All digits yet no number: past the type's largest.
            Err(_) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Err(format!("{shown} is too large (the largest is {hi})"))
            }
            Err(_) => Err(format!("{shown} is not a whole number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_which_bound_or_that_it_is_no_number() {
        let jobs = whole::<u16>(1..=1024);
        assert_eq!(jobs("8"), Ok(8));
        assert_eq!(jobs("1024"), Ok(1024));
        assert_eq!(
            jobs("2000").unwrap_err(),
            "\"2000\" is too large (the largest is 1024)"
        );
        assert_eq!(
            jobs("99999999999999999999").unwrap_err(),
            "\"99999999999999999999\" is too large (the largest is 1024)"
        );
        assert_eq!(
            jobs("0").unwrap_err(),
            "\"0\" is too small (the least is 1)"
        );
        assert!(jobs("-1").unwrap_err().contains("is not a whole number"));
        assert!(jobs("").unwrap_err().contains("is not a whole number"));
        let bytes = whole::<u64>(0..=u64::MAX);
        assert_eq!(
            bytes("99999999999999999999").unwrap_err(),
            "\"99999999999999999999\" is too large (the largest is 18446744073709551615)"
        );
    }
}
