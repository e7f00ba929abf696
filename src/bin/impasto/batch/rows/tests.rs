//! The row readers' unit tests: CSV headers and hints, JSON Lines errors.

use super::*;

#[test]
fn csv_given_as_json_lines_fails_with_a_hint_and_a_spreadsheets_blank_columns_are_no_names() {
    let e = json_row(b"id,title,price", 1).unwrap_err();
    assert!(e.contains("is this CSV?"), "{e}");
    let e = json_row(b"{\"id\": 1,}", 1).unwrap_err();
    assert!(!e.contains("is this CSV?"), "{e}");
    let e = json_row(b"\xff\xfe{\0\"\0i\0d\0", 1).unwrap_err();
    assert!(e.contains("UTF-16"), "{e}");
    for header in ["id;title\na;b\n", "id\ttitle\na\tb\n", "i\0d\0,\0t\0\n"] {
        let input = std::io::Cursor::new(header.as_bytes().to_vec());
        let e = Source::csv_rows(Path::new("-"), Box::new(input), RowBytes::default())
            .err()
            .expect("refused");
        let e = e.to_string();
        assert!(
            e.contains("semicolons") || e.contains("tabs") || e.contains("UTF-16"),
            "{e}"
        );
    }
    let input = std::io::Cursor::new(b"id,title,,\na,b,,\n".to_vec());
    let source = (Path::new("-"), Box::new(input) as Box<dyn Read>);
    let (_, headers) =
        Source::csv_rows(source.0, source.1, RowBytes::default()).expect("blank names repeat");
    assert_eq!(
        headers,
        Some(vec!["id".into(), "title".into(), "".into(), "".into()])
    );
}

#[test]
fn a_jsonl_syntax_error_gives_the_line_of_the_input_and_the_column() {
    let input = b"{\"id\": 1}\n\n\n{\"id\": 2,}\n".to_vec();
    let mut rows = Rows::jsonl(
        Box::new(std::io::Cursor::new(input)),
        "t",
        RowBytes::default(),
    );
    rows.next_row().unwrap().unwrap().1.unwrap();
    let (n, r) = rows.next_row().unwrap().unwrap();
    let e = r.unwrap_err().message;
    assert_eq!(n, 2);
    assert!(e.starts_with("--data: line 4: invalid JSON: "), "{e}");
    assert!(e.ends_with("trailing comma at column 10"), "{e}");
}

#[test]
fn jsonl_rows_skip_blank_lines_and_a_bad_line_fails_only_its_row() {
    let input = b"{\"id\": 1}\n\n[1]\n{\"id\": \"b\", \"n\": null}\n".to_vec();
    let mut rows = Rows::jsonl(
        Box::new(std::io::Cursor::new(input)),
        "t",
        RowBytes::default(),
    );
    let (n1, r1) = rows.next_row().unwrap().unwrap();
    assert_eq!((n1, r1.unwrap().text("id")), (1, Some("1".into())));
    let (n2, r2) = rows.next_row().unwrap().unwrap();
    assert_eq!(n2, 2);
    // Row 2 is line 3 of the input (after a blank line).
    assert!(r2
        .unwrap_err()
        .message
        .starts_with("--data: line 3: expected a JSON object, got an array"));
    let (n3, r3) = rows.next_row().unwrap().unwrap();
    let r3 = r3.unwrap();
    assert_eq!(
        (n3, r3.text("id"), r3.text("n")),
        (3, Some("b".into()), None)
    );
    assert!(rows.next_row().unwrap().is_none());
}

#[test]
fn jsonl_numbers_read_in_the_output_pattern_as_references_write_them() {
    let input = b"{\"id\": 12.0, \"a\": -0, \"b\": 2.5, \"c\": 1e20}\n".to_vec();
    let mut rows = Rows::jsonl(
        Box::new(std::io::Cursor::new(input)),
        "t",
        RowBytes::default(),
    );
    let (_, r) = rows.next_row().unwrap().unwrap();
    let r = r.unwrap();
    assert_eq!(r.text("id").as_deref(), Some("12"));
    assert_eq!(r.text("a").as_deref(), Some("0"));
    assert_eq!(r.text("b").as_deref(), Some("2.5"));
    assert_eq!(r.text("c").as_deref(), Some("1e+20"));
}

#[test]
fn a_jsonl_row_naming_a_key_twice_fails_naming_it() {
    let input = b"{\"id\": \"a\", \"id\": \"b\"}\n".to_vec();
    let mut rows = Rows::jsonl(
        Box::new(std::io::Cursor::new(input)),
        "t",
        RowBytes::default(),
    );
    let (_, r) = rows.next_row().unwrap().unwrap();
    let e = r.unwrap_err().message;
    assert!(e.contains("duplicate key \"id\""), "{e}");
}

#[test]
fn a_byte_order_mark_before_the_first_jsonl_row_is_skipped() {
    let input = b"\xef\xbb\xbf{\"id\": \"a\"}\n{\"id\": \"b\"}\n".to_vec();
    let mut rows = Rows::jsonl(
        Box::new(std::io::Cursor::new(input)),
        "t",
        RowBytes::default(),
    );
    let (n, r) = rows.next_row().unwrap().unwrap();
    assert_eq!((n, r.unwrap().text("id")), (1, Some("a".into())));
    let (_, r) = rows.next_row().unwrap().unwrap();
    assert_eq!(r.unwrap().text("id"), Some("b".into()));
}
