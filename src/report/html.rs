//! Self-contained HTML pages: `report.html` of a run (its tables, its plots and the event browser
//! of the test set) and the `display` example's `index.html`. Everything is inline — styles,
//! script, PNG plots as `data:` URIs, the events as JSON — and the page's Content-Security-Policy
//! forbids any request, so it opens from a laptop or an e-mail with no network.

use super::browser::Browser;
use super::{atomic_write, file_err, Result};
use std::path::Path;

static STYLE: &str = include_str!("../../assets/report.css");
static SCRIPT: &str = include_str!("../../assets/report.js");

/// One plot of a page: a PNG file and its caption.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The PNG's path (read and inlined).
    pub path: std::path::PathBuf,
    /// Its caption.
    pub caption: String,
}

/// Escapes `&`, `<`, `>` and `"` for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// Inline markdown of the reports: `code` spans and **bold**, the rest escaped.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{}</code>", escape(part)));
        } else {
            for (j, b) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    out.push_str(&format!("<strong>{}</strong>", escape(b)));
                } else {
                    out.push_str(&escape(b));
                }
            }
        }
    }
    out
}

fn table_cells(line: &str) -> Vec<&str> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(str::trim).collect()
}

/// The markdown the reports write, as HTML: headings, pipe tables (the separator row after the
/// header), `- ` lists and paragraphs; inline code and bold.
pub fn markdown_to_html(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut html = String::new();
    let mut i = 0;
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, html: &mut String| {
        if !para.is_empty() {
            html.push_str(&format!("<p>{}</p>\n", inline(&para.join(" "))));
            para.clear();
        }
    };
    while i < lines.len() {
        let l = lines[i].trim_end();
        let t = l.trim_start();
        if t.is_empty() {
            flush(&mut para, &mut html);
            i += 1;
        } else if let Some(level) =
            (1..=6).find(|&k| t.starts_with(&"#".repeat(k)) && t[k..].starts_with(' '))
        {
            flush(&mut para, &mut html);
            html.push_str(&format!(
                "<h{level}>{}</h{level}>\n",
                inline(t[level..].trim())
            ));
            i += 1;
        } else if t.starts_with('|') {
            flush(&mut para, &mut html);
            let header = table_cells(t);
            let mut j = i + 1;
            let has_sep = lines.get(j).is_some_and(|s| {
                let s = s.trim();
                s.starts_with('|') && s.chars().all(|c| "|-: ".contains(c))
            });
            html.push_str("<table>\n");
            if has_sep {
                html.push_str("<thead><tr>");
                for c in &header {
                    html.push_str(&format!("<th>{}</th>", inline(c)));
                }
                html.push_str("</tr></thead>\n");
                j += 1;
            } else {
                j = i;
            }
            html.push_str("<tbody>\n");
            while j < lines.len() && lines[j].trim_start().starts_with('|') {
                html.push_str("<tr>");
                for c in table_cells(lines[j]) {
                    html.push_str(&format!("<td>{}</td>", inline(c)));
                }
                html.push_str("</tr>\n");
                j += 1;
            }
            html.push_str("</tbody></table>\n");
            i = j;
        } else if t.starts_with("- ") || t.starts_with("* ") {
            flush(&mut para, &mut html);
            html.push_str("<ul>\n");
            while i < lines.len() {
                let u = lines[i].trim_start();
                if let Some(item) = u.strip_prefix("- ").or_else(|| u.strip_prefix("* ")) {
                    html.push_str(&format!("<li>{}</li>\n", inline(item)));
                    i += 1;
                } else {
                    break;
                }
            }
            html.push_str("</ul>\n");
        } else {
            para.push(t);
            i += 1;
        }
    }
    flush(&mut para, &mut html);
    html
}

/// JSON made safe inside a `<script>` element (no `</script>` or `<!--` can end it early).
fn script_json(json: &str) -> String {
    json.replace("</", "<\\/").replace("<!--", "<\\!--")
}

/// The page: `title`, the `summary` (HTML), the plots and the event browser.
pub fn page(
    title: &str,
    summary: &str,
    plots: &[Plot],
    browser: Option<&Browser>,
) -> Result<String> {
    let mut figures = String::new();
    for p in plots {
        let bytes = std::fs::read(&p.path).map_err(|e| file_err(&p.path, e))?;
        figures.push_str(&format!(
            "<figure><img alt=\"{cap}\" src=\"data:image/png;base64,{}\"><figcaption>{cap}</figcaption></figure>\n",
            base64::encode(&bytes),
            cap = escape(&p.caption)
        ));
    }
    let (table, pictures) = match browser {
        Some(b) => b.to_json(),
        None => ("null".into(), "[]".into()),
    };
    let browser_html = if browser.is_some() {
        r#"<section id="browser"><h2 id="browser-title"></h2><p class="note" id="browser-note"></p>
<div class="controls"><span id="filters"></span>
<label>search <input id="search" type="search" placeholder="text in any column"></label>
<span id="count"></span><span class="keys">keys: j / ↓ next, k / ↑ previous</span></div>
<div class="split"><div class="list" id="list"><table id="events"><thead></thead><tbody></tbody></table></div>
<div id="view"><p class="hint">Select an event to see its pictures.</p></div></div></section>"#
    } else {
        ""
    };
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body><header><h1>{title}</h1></header><main>
<section id="summary">{summary}</section>
<section id="plots">{figures}</section>
{browser_html}
</main>
<script type="application/json" id="table-data">{table}</script>
<script type="application/json" id="picture-data">{pictures}</script>
<script>{SCRIPT}</script>
</body></html>
"#,
        title = escape(title),
        table = script_json(&table),
        pictures = script_json(&pictures),
    ))
}

/// Writes [`page`] to `path` through a temporary file and a rename.
pub fn write_page(
    path: &Path,
    title: &str,
    summary: &str,
    plots: &[Plot],
    browser: Option<&Browser>,
) -> Result<()> {
    let html = page(title, summary, plots, browser)?;
    atomic_write(path, html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::browser::{Cell, Column};
    use super::*;

    #[test]
    fn markdown_of_the_reports_becomes_html() {
        let md = "# Title <x>\n\nSome `a<b` **bold** text\nwrapped.\n\n| m | ε |\n|---|---|\n| net | 0.5 |\n| b | — |\n\n- one\n- two\n";
        let h = markdown_to_html(md);
        assert!(h.contains("<h1>Title &lt;x&gt;</h1>"), "{h}");
        assert!(
            h.contains("<p>Some <code>a&lt;b</code> <strong>bold</strong> text wrapped.</p>"),
            "{h}"
        );
        assert!(
            h.contains("<thead><tr><th>m</th><th>ε</th></tr></thead>"),
            "{h}"
        );
        assert_eq!(h.matches("<tr>").count(), 3, "{h}");
        assert!(h.contains("<td>net</td><td>0.5</td>"));
        assert!(h.contains("<ul>\n<li>one</li>\n<li>two</li>\n</ul>"), "{h}");
    }

    #[test]
    fn pages_are_self_contained_and_cannot_be_broken_by_their_data() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        std::fs::write(&png, [0x89, b'P', b'N', b'G']).unwrap();
        let mut b = Browser::new("events", vec![Column::category("class")], "n");
        b.push(
            vec![Cell::Text("</script><script>alert(1)</script>".into())],
            0.0,
            None,
        );
        let plots = [Plot {
            path: png.clone(),
            caption: "ROC \"log\"".into(),
        }];
        let html = page("T & U", "<p>x</p>", &plots, Some(&b)).unwrap();
        assert!(html.contains("<title>T &amp; U</title>"));
        assert!(html.contains("data:image/png;base64,iVBORw=="));
        assert!(html.contains("alt=\"ROC &quot;log&quot;\""));
        // Only the page's own three script elements open and close.
        assert_eq!(html.matches("</script>").count(), 3);
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        let missing = Plot {
            path: dir.path().join("none.png"),
            caption: String::new(),
        };
        let e = page("t", "", &[missing], None).unwrap_err().to_string();
        assert!(e.contains("none.png"), "{e}");
        let out = dir.path().join("r.html");
        write_page(&out, "t", "", &plots, None).unwrap();
        assert!(std::fs::read_to_string(out)
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
    }
}
