//! WeChat's bill text (docs/protocol.md §3.7): a header line, data rows whose every value starts
//! with a backquote, then a summary header and one summary row in the same style. Lines end in
//! "\r\n" or "\n". Column sets differ between trade bills and fund-flow bills, so nothing here
//! names a column.
//!
//! Rows are split on ",`" rather than ",": every value starts with a backquote, so a comma
//! inside a value (a product name, say) does not shift the columns.
//!
//! [`parse`] checks the whole text but keeps only the header and summary: the rows are
//! read again, value by value, when they are iterated. A bill can be tens of MiB, and the
//! PHP face builds its arrays straight from the text, inside PHP's `memory_limit`, instead
//! of from a second copy held outside it.

use crate::error::{Error, Result};
use std::collections::HashSet;

/// A checked bill, borrowing from its text. Values have their backquote removed; every
/// row is as wide as the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill<'a> {
    pub header: Vec<&'a str>,
    /// The data lines, from the first to the last (checked by [`parse`]).
    data: &'a str,
    row_count: usize,
    pub summary_header: Vec<&'a str>,
    pub summary: Vec<&'a str>,
}

impl<'a> Bill<'a> {
    /// How many data rows there are.
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// Each data row's values, in column order.
    pub fn rows(&self) -> impl Iterator<Item = impl Iterator<Item = &'a str>> + '_ {
        lines(self.data)
            .take(self.row_count)
            .map(|(_, line)| split_values(line))
    }

    /// Each data row as (column, value) pairs in column order.
    pub fn records(&self) -> impl Iterator<Item = impl Iterator<Item = (&'a str, &'a str)>> + '_ {
        self.rows()
            .map(|values| self.header.iter().copied().zip(values))
    }

    /// The summary row as (column, value) pairs.
    pub fn summary_record(&self) -> Vec<(&'a str, &'a str)> {
        self.summary_header
            .iter()
            .copied()
            .zip(self.summary.iter().copied())
            .collect()
    }
}

/// Numbered lines (from 1) without their line end.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// The values of a line that starts with a backquote.
fn split_values(line: &str) -> std::str::Split<'_, &'static str> {
    line[1..].split(",`")
}

fn malformed(line: usize, what: String) -> Error {
    Error::InvalidArgument(format!("bill line {line}: {what}"))
}

/// A header's column names: none empty, none twice (a record maps names to values, so a
/// repeated name would silently lose a value). A set, not a scan: the line may be long.
fn column_names(line: usize, text: &str) -> Result<Vec<&str>> {
    let names: Vec<&str> = text.split(',').collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(malformed(
            line,
            format!("header has an empty column name: \"{text}\""),
        ));
    }
    let mut seen = HashSet::with_capacity(names.len());
    if let Some(name) = names.iter().find(|n| !seen.insert(**n)) {
        return Err(malformed(
            line,
            format!("header names column \"{name}\" twice"),
        ));
    }
    Ok(names)
}

/// Checks that a line is a row of `width` values, without keeping them.
fn check_row(line: usize, text: &str, width: usize, header_line: usize) -> Result<()> {
    if !text.starts_with('`') {
        return Err(malformed(line, "values must start with a backquote".into()));
    }
    let count = split_values(text).count();
    if count != width {
        return Err(malformed(
            line,
            format!("{count} values, but the header on line {header_line} has {width} columns"),
        ));
    }
    Ok(())
}

/// Parses bill text (UTF-8, an optional BOM). Refuses a row whose width differs from its
/// header, a missing summary, and anything after the summary row.
pub fn parse(text: &[u8]) -> Result<Bill<'_>> {
    let text = std::str::from_utf8(text).map_err(|e| {
        Error::InvalidArgument(format!(
            "bill is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.trim_end_matches(['\r', '\n']);
    let (first, data) = text
        .split_once('\n')
        .map_or((text, None), |(first, data)| (first, Some(data)));
    let first = first.strip_suffix('\r').unwrap_or(first);
    if first.is_empty() {
        return Err(Error::InvalidArgument("bill is empty".into()));
    }
    let header = column_names(1, first)?;
    // Line numbers go on from 2: `lines` counts from 1.
    let mut rest = data.into_iter().flat_map(lines).map(|(n, l)| (n + 1, l));
    let mut row_count = 0;
    let (summary_line, summary_header) = loop {
        match rest.next() {
            None => {
                return Err(Error::InvalidArgument(
                    "bill ends without its summary header and row".into(),
                ));
            }
            Some((n, "")) => return Err(malformed(n, "empty line inside the bill".into())),
            Some((n, l)) if l.starts_with('`') => {
                check_row(n, l, header.len(), 1)?;
                row_count += 1;
            }
            Some((n, l)) => break (n, column_names(n, l)?),
        }
    };
    let summary = match rest.next() {
        Some((n, l)) => {
            check_row(n, l, summary_header.len(), summary_line)?;
            split_values(l).collect()
        }
        None => {
            return Err(malformed(
                summary_line,
                "summary header is not followed by a summary row".into(),
            ));
        }
    };
    if let Some((n, _)) = rest.next() {
        return Err(malformed(n, "text after the summary row".into()));
    }
    Ok(Bill {
        header,
        data: data.unwrap_or_default(),
        row_count,
        summary_header,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
    const SUMMARY: &str = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

    fn row(values: &[&str]) -> String {
        values
            .iter()
            .map(|v| format!("`{v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn trade_row(out_trade_no: &str, name: &str) -> String {
        let mut v = vec![""; 27];
        v[0] = "2024-01-01 10:00:00";
        v[2] = "10000100";
        v[6] = out_trade_no;
        v[9] = "SUCCESS";
        v[12] = "0.88";
        v[20] = name;
        row(&v)
    }

    #[test]
    fn parses_the_mock_trade_bill_with_either_line_end() {
        for eol in ["\r\n", "\n"] {
            let text = [
                HEADER.to_owned(),
                trade_row("A1001", "T-shirt, blue"),
                trade_row("A1002", "cup"),
                SUMMARY.to_owned(),
                row(&["2", "1.76", "0.00", "0.00", "0.01", "1.76", "0.00"]),
            ]
            .join(eol)
                + eol;
            let bill = parse(text.as_bytes()).unwrap();
            assert_eq!(bill.header.len(), 27);
            assert_eq!(bill.row_count(), 2);
            let first: Vec<_> = bill.records().next().unwrap().collect();
            assert_eq!(first[0], ("交易时间", "2024-01-01 10:00:00"));
            assert_eq!(first[6], ("商户订单号", "A1001"));
            assert_eq!(first[20], ("商品名称", "T-shirt, blue"));
            assert_eq!(first[26], ("费率备注", ""));
            assert_eq!(bill.summary_record()[0], ("总交易单数", "2"));
            assert_eq!(bill.summary_record()[6], ("申请退款总金额", "0.00"));
        }
    }

    #[test]
    fn generic_columns_no_rows_and_bom() {
        let text = "\u{feff}记账时间,业务类型\n资金流水总笔数,收入笔数\n`0,`0";
        let bill = parse(text.as_bytes()).unwrap();
        assert_eq!(bill.header, ["记账时间", "业务类型"]);
        assert_eq!(bill.row_count(), 0);
        assert_eq!(bill.records().count(), 0);
        assert_eq!(
            bill.summary_record(),
            [("资金流水总笔数", "0"), ("收入笔数", "0")]
        );
    }

    fn refusal(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn refuses_malformed_bills() {
        assert_eq!(refusal(""), "bill is empty");
        assert_eq!(
            refusal("a,b\n`1,`2,`3\ns\n`1"),
            "bill line 2: 3 values, but the header on line 1 has 2 columns"
        );
        for unfinished in ["a,b", "a,b\n`1,`2\n"] {
            assert_eq!(
                refusal(unfinished),
                "bill ends without its summary header and row"
            );
        }
        assert_eq!(
            refusal("a,b\n`1,`2\ns,t\n"),
            "bill line 3: summary header is not followed by a summary row"
        );
        assert_eq!(
            refusal("a,b\ns\n1"),
            "bill line 3: values must start with a backquote"
        );
        assert_eq!(
            refusal("a,b\ns\n`1\n`2"),
            "bill line 4: text after the summary row"
        );
        assert_eq!(
            refusal("a,b\n\n`1,`2"),
            "bill line 2: empty line inside the bill"
        );
        assert!(refusal("a,,b\ns\n`1").contains("empty column name"));
        assert_eq!(
            refusal("a,b,a\n`1,`2,`3\ns\n`1"),
            "bill line 1: header names column \"a\" twice"
        );
        assert_eq!(
            refusal("a,b\n`1,`2\ns,t,s\n`1,`2,`3"),
            "bill line 3: header names column \"s\" twice"
        );
        assert!(parse(&[0xff, 0xfe]).is_err());
        // A repeated name at the end of a long header is found (a set, not a scan per name).
        let wide: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
        let text = format!("{},c7\ns\n`1", wide.join(","));
        assert_eq!(
            refusal(&text),
            "bill line 1: header names column \"c7\" twice"
        );
    }

    #[test]
    fn rows_are_read_from_the_text_on_demand() {
        let text = "a,b\r\n`1,`x,y\r\n`2,`\r\ns\r\n`2\r\n";
        let bill = parse(text.as_bytes()).unwrap();
        let rows: Vec<Vec<&str>> = bill.rows().map(Iterator::collect).collect();
        assert_eq!(rows, [vec!["1", "x,y"], vec!["2", ""]]);
        let records: Vec<Vec<(&str, &str)>> = bill.records().map(Iterator::collect).collect();
        assert_eq!(records[1], [("a", "2"), ("b", "")]);
        assert_eq!(bill.summary_record(), [("s", "2")]);
    }
}
