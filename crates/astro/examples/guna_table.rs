//! Prints the 108×108 ashtakoota totals (rows: bride's Moon pada, columns: groom's) as
//! CSV: `cargo run -p augur-astro --example guna_table > guna_milan_108x108.csv`.

fn main() {
    let names = astro::vedic::NAKSHATRA_NAMES;
    let label = |p: usize| format!("{} {}", names[p / 4], p % 4 + 1);
    let header: Vec<String> = (0..108).map(label).collect();
    println!("bride\\groom,{}", header.join(","));
    for (b, row) in astro::guna_milan::pada_pair_totals().iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|t| t.to_string()).collect();
        println!("{},{}", label(b), cells.join(","));
    }
}
