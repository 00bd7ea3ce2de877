//! WeChat's bill text (docs/protocol.md §3.7): a header line, data rows whose every value starts
//! with a backquote, then a summary header and one summary row in the same style. Lines end in
//! "\r\n" or "\n". Column sets differ between trade bills and fund-flow bills, so nothing here
//! names a column.
//!
//! Rows are split on ",`" rather than ",": every value starts with a backquote, so a comma
//! inside a value (a product name, say) does not shift the columns.

use crate::error::{Error, Result};

/// A parsed bill. Values have their backquote removed; widths are checked against headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub summary_header: Vec<String>,
    pub summary: Vec<String>,
}

impl Bill {
    /// Each data row as (column, value) pairs in column order.
    pub fn records(&self) -> impl Iterator<Item = Vec<(&str, &str)>> + '_ {
        self.rows.iter().map(|row| zip(&self.header, row))
    }

    /// The summary row as (column, value) pairs.
    pub fn summary_record(&self) -> Vec<(&str, &str)> {
        zip(&self.summary_header, &self.summary)
    }
}

fn zip<'a>(names: &'a [String], values: &'a [String]) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect()
}

fn malformed(line: usize, what: String) -> Error {
    Error::InvalidArgument(format!("bill line {line}: {what}"))
}

/// A header's column names: none empty, none twice (a record maps names to values, so a
/// repeated name would silently lose a value).
fn header(line: usize, text: &str) -> Result<Vec<String>> {
    let names: Vec<String> = text.split(',').map(str::to_owned).collect();
    if names.iter().any(String::is_empty) {
        return Err(malformed(
            line,
            format!("header has an empty column name: \"{text}\""),
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(malformed(
                line,
                format!("header names column \"{name}\" twice"),
            ));
        }
    }
    Ok(names)
}

fn values(line: usize, text: &str, width: usize, header_line: usize) -> Result<Vec<String>> {
    let Some(rest) = text.strip_prefix('`') else {
        return Err(malformed(line, "values must start with a backquote".into()));
    };
    let values: Vec<String> = rest.split(",`").map(str::to_owned).collect();
    if values.len() != width {
        return Err(malformed(
            line,
            format!(
                "{} values, but the header on line {header_line} has {width} columns",
                values.len()
            ),
        ));
    }
    Ok(values)
}

/// Parses bill text (UTF-8, an optional BOM). Refuses a row whose width differs from its
/// header, a missing summary, and anything after the summary row.
pub fn parse(text: &[u8]) -> Result<Bill> {
    let text = std::str::from_utf8(text).map_err(|e| {
        Error::InvalidArgument(format!(
            "bill is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.trim_end_matches(['\r', '\n']);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));

    let Some((_, first)) = lines.next().filter(|(_, l)| !l.is_empty()) else {
        return Err(Error::InvalidArgument("bill is empty".into()));
    };
    let mut bill = Bill {
        header: header(1, first)?,
        ..Bill::default()
    };
    let summary_line = loop {
        match lines.next() {
            None => {
                return Err(Error::InvalidArgument(
                    "bill ends without its summary header and row".into(),
                ));
            }
            Some((n, l)) if l.starts_with('`') => {
                bill.rows.push(values(n, l, bill.header.len(), 1)?);
            }
            Some((n, "")) => return Err(malformed(n, "empty line inside the bill".into())),
            Some((n, l)) => {
                bill.summary_header = header(n, l)?;
                break n;
            }
        }
    };
    match lines.next() {
        Some((n, l)) => bill.summary = values(n, l, bill.summary_header.len(), summary_line)?,
        None => {
            return Err(malformed(
                summary_line,
                "summary header is not followed by a summary row".into(),
            ));
        }
    }
    if let Some((n, _)) = lines.next() {
        return Err(malformed(n, "text after the summary row".into()));
    }
    Ok(bill)
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
            assert_eq!(bill.rows.len(), 2);
            let first = bill.records().next().unwrap();
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
        assert!(bill.rows.is_empty());
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
        assert_eq!(
            refusal("a,b\n`1,`2\n"),
            "bill ends without its summary header and row"
        );
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
    }
}
