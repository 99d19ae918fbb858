//! The committed 108×108 guna milan table (tests/fixtures/guna_milan_108x108.csv, made by
//! `examples/guna_table.rs`) must match the code, so table changes are reviewed.

#[test]
fn committed_pada_pair_table_matches_code() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/guna_milan_108x108.csv"
    ))
    .unwrap();
    let table = astro::guna_milan::pada_pair_totals();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 108);
    for (b, line) in rows.iter().enumerate() {
        let cells: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(cells.as_slice(), table[b].as_slice(), "row {b}");
    }
}
