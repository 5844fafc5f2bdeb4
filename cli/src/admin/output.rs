//! How operator commands print: aligned tables for people, the API's JSON for scripts.

use serde_json::Value;

/// A table of text cells with a header row, printed with aligned columns.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, each column as wide as its widest cell, the last one unpadded.
    pub(crate) fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints `doc` as JSON when asked, else the table `table` makes of it.
pub(crate) fn emit(json: bool, doc: &Value, table: impl FnOnce(&Value) -> Table) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
        );
    } else {
        print!("{}", table(doc).render());
    }
}

/// A JSON value as a table cell: strings bare, null as `-`, lists joined, objects as
/// `key=value` pairs, the rest as JSON.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(cell).collect();
            parts.join(",")
        }
        // An object reads as `key=value` pairs, not as JSON (`--json` has the JSON).
        Value::Object(fields) if fields.is_empty() => "-".to_owned(),
        Value::Object(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}={}", cell(v)))
                .collect();
            parts.join(" ")
        }
        other => other.to_string(),
    }
}

/// A byte count as a table cell, in binary units people read (`1.5 MiB`, `812 B`); a value
/// that is not a count is shown as [`cell`] shows it. `--json` keeps the exact count.
pub(crate) fn size_cell(v: &Value) -> String {
    let Some(bytes) = v.as_u64() else {
        return cell(v);
    };
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "one decimal of a size; exactness is in --json"
    )]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A JSON array as a table cell: its items joined with ", ", or `none` when it is empty or
/// missing.
pub(crate) fn list_cell(v: &Value, none: &str) -> String {
    let items: Vec<String> = v.as_array().into_iter().flatten().map(cell).collect();
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

/// A table of one resource's attributes, one `field value` row each, with its id first.
pub(crate) fn record(doc: &Value) -> Table {
    let mut table = Table::new(&["FIELD", "VALUE"]);
    let data = &doc["data"];
    table.row(vec!["id".to_owned(), cell(&data["id"])]);
    if let Some(attributes) = data["attributes"].as_object() {
        for (name, value) in attributes {
            table.row(vec![name.clone(), cell(value)]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["a-long-id".into(), "x".into()]);
        t.row(vec!["b".into(), "y".into()]);
        assert_eq!(t.render(), "ID         NAME\na-long-id  x\nb          y\n");
    }

    #[test]
    fn cells_show_null_as_a_dash_and_lists_joined() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(["iOS", "macOS"])), "iOS,macOS");
        assert_eq!(cell(&json!([])), "-");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(cell(&json!("x")), "x");
        assert_eq!(
            cell(&json!({"code": "CHECKSUM_MISMATCH", "file": null, "parts": [1, 2]})),
            "code=CHECKSUM_MISMATCH parts=1,2"
        );
        assert_eq!(cell(&json!({})), "-");
    }

    #[test]
    fn sizes_read_in_binary_units_and_anything_else_as_a_cell() {
        assert_eq!(size_cell(&json!(0)), "0 B");
        assert_eq!(size_cell(&json!(1023)), "1023 B");
        assert_eq!(size_cell(&json!(1024)), "1.0 KiB");
        assert_eq!(size_cell(&json!(119_537_664)), "114.0 MiB");
        assert_eq!(size_cell(&json!(5_u64 << 40)), "5.0 TiB");
        assert_eq!(size_cell(&json!(null)), "-");
    }

    #[test]
    fn a_record_lists_the_id_then_every_attribute() {
        let doc = json!({"data": {"id": "p1", "attributes": {"archived": false}}});
        assert_eq!(
            record(&doc).render(),
            "FIELD     VALUE\nid        p1\narchived  false\n"
        );
    }
}
