//! QR codes for `code_url` (Native pay) and friends, as SVG, PNG or terminal text. The
//! matrix comes from the `qrcode` crate; the three renderers are small and local, so no
//! image or SVG library is pulled in.

use crate::error::{Error, Result};
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, as the QR standard asks (ISO/IEC 18004 §6.3.8).
pub const QUIET_ZONE: usize = 4;
/// PNG pixels per module.
pub const PNG_SCALE: usize = 8;

/// The module matrix with its quiet zone: `dark(x, y)` for `0..size`.
struct Matrix {
    size: usize,
    width: usize,
    colors: Vec<Color>,
}

impl Matrix {
    fn new(text: &str) -> Result<Self> {
        // Level M: the usual choice for screens, and what WeChat's own codes use.
        let code = QrCode::with_error_correction_level(text, EcLevel::M).map_err(|e| {
            Error::InvalidArgument(format!(
                "QR text cannot be encoded ({e}), {} bytes given",
                text.len()
            ))
        })?;
        Ok(Self {
            size: code.width() + 2 * QUIET_ZONE,
            width: code.width(),
            colors: code.into_colors(),
        })
    }

    fn dark(&self, x: usize, y: usize) -> bool {
        let inside = |v: usize| (QUIET_ZONE..QUIET_ZONE + self.width).contains(&v);
        inside(x)
            && inside(y)
            && self.colors[(y - QUIET_ZONE) * self.width + (x - QUIET_ZONE)] == Color::Dark
    }
}

/// An SVG document: one path of horizontal dark runs on a white square, 6 px per module.
pub fn svg(text: &str) -> Result<String> {
    let m = Matrix::new(text)?;
    let px = m.size * 6;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {s} {s}\" shape-rendering=\"crispEdges\"><rect width=\"{s}\" height=\"{s}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
        s = m.size
    );
    for y in 0..m.size {
        let mut x = 0;
        while x < m.size {
            if m.dark(x, y) {
                let start = x;
                while x < m.size && m.dark(x, y) {
                    x += 1;
                }
                out.push_str(&format!("M{start} {y}h{}v1H{start}z", x - start));
            } else {
                x += 1;
            }
        }
    }
    out.push_str("\"/></svg>");
    Ok(out)
}

/// A 1-bit greyscale PNG, [`PNG_SCALE`] pixels per module.
pub fn png(text: &str) -> Result<Vec<u8>> {
    let m = Matrix::new(text)?;
    let side = m.size * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side];
    for y in 0..side {
        for x in (0..side).filter(|x| !m.dark(x / PNG_SCALE, y / PNG_SCALE)) {
            // 1 = white in greyscale; the most significant bit is the leftmost pixel.
            pixels[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
        }
    }
    let side = u32::try_from(side)
        .map_err(|_| Error::InvalidArgument("QR text is too long for a PNG".into()))?;
    let mut out = Vec::new();
    let fail =
        |e: png::EncodingError| Error::InvalidArgument(format!("QR PNG encoding failed: {e}"));
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

/// Terminal text: two modules per character cell with Unicode half blocks, drawn for a
/// dark-background terminal (light modules and the quiet zone are the ink), as
/// `qrencode -t UTF8` does. One line per two module rows, each ending in "\n".
pub fn text(text: &str) -> Result<String> {
    let m = Matrix::new(text)?;
    let mut out = String::with_capacity((m.size + 1) * m.size.div_ceil(2) * 3);
    for y in (0..m.size).step_by(2) {
        for x in 0..m.size {
            let top = !m.dark(x, y);
            // Past the last row counts as dark: nothing is drawn there.
            let bottom = y + 1 < m.size && !m.dark(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "weixin://wxpay/bizpayurl?pr=AbCdEf0";

    /// Decodes a light/dark grid (`true` = dark) with rqrr.
    fn decode(size: usize, dark: impl Fn(usize, usize) -> bool) -> String {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            if dark(x, y) { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code expected");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn png_round_trip() {
        let data = png(URL).unwrap();
        let mut decoder = png::Decoder::new(std::io::Cursor::new(data));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        assert_eq!(w, h);
        assert_eq!(decode(w, |x, y| buf[y * info.line_size + x] < 128), URL);
    }

    #[test]
    fn svg_round_trip() {
        let doc = svg(URL).unwrap();
        let size: usize = doc
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        // Rasterise the runs "M{x} {y}h{len}v1H{x}z" at 4 px per module.
        let scale = 4;
        let mut dark = vec![false; size * size];
        let path = doc.split(" d=\"").nth(1).unwrap();
        for run in path.split('M').skip(1) {
            let nums: Vec<usize> = run
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let (x, y, len) = (nums[0], nums[1], nums[2]);
            for i in x..x + len {
                dark[y * size + i] = true;
            }
        }
        let decoded = decode(size * scale, |x, y| dark[(y / scale) * size + x / scale]);
        assert_eq!(decoded, URL);
    }

    #[test]
    fn text_round_trip() {
        let t = text(URL).unwrap();
        let lines: Vec<Vec<char>> = t.lines().map(|l| l.chars().collect()).collect();
        let size = lines[0].len();
        assert!(lines.iter().all(|l| l.len() == size));
        assert_eq!(lines.len(), size.div_ceil(2));
        // Quiet zone: the first two lines are all light.
        assert!(lines[0].iter().chain(&lines[1]).all(|&c| c == '█'));
        let light = |x: usize, y: usize| match lines[y / 2][x] {
            '█' => true,
            '▀' => y.is_multiple_of(2),
            '▄' => y % 2 == 1,
            _ => false,
        };
        let scale = 4;
        assert_eq!(
            decode(size * scale, |x, y| !light(x / scale, y / scale)),
            URL
        );
    }

    #[test]
    fn too_long_is_refused() {
        match svg(&"x".repeat(5000)) {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.starts_with("QR text cannot be encoded"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
