//! Names every asset in `assets/` after its content (`donor.js` → `donor.<hash>.js`),
//! writes the pages with those names filled in for `{{asset:<file>}}`, and generates the
//! table the component serves (`$OUT_DIR/assets.rs`). `index.html` is served at `/`,
//! `admin.html` at `/admin`, everything else under `/assets/`.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

const PAGES: [(&str, &str); 2] = [("index.html", "/"), ("admin.html", "/admin")];

fn main() {
    let out = env::var("OUT_DIR").unwrap();
    let out = Path::new(&out);
    println!("cargo:rerun-if-changed=assets");
    let mut files: Vec<String> = fs::read_dir("assets")
        .expect("functions/web/assets")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut table = String::from("&[\n");
    let mut hashed = Vec::new();
    for name in files.iter().filter(|f| !f.ends_with(".html")) {
        let body = fs::read(Path::new("assets").join(name)).unwrap();
        let digest = hex(&Sha256::digest(&body))[..12].to_string();
        let (stem, ext) = name.rsplit_once('.').expect("assets have an extension");
        let served = format!("/assets/{stem}.{digest}.{ext}");
        fs::write(out.join(name), &body).unwrap();
        entry(&mut table, &served, name, "Hashed");
        hashed.push((name.clone(), served));
    }
    for (page, path) in PAGES {
        let mut html = fs::read_to_string(Path::new("assets").join(page)).unwrap();
        for (name, served) in &hashed {
            html = html.replace(&format!("{{{{asset:{name}}}}}"), served);
        }
        assert!(
            !html.contains("{{asset:"),
            "{page} names an asset that is not in assets/"
        );
        fs::write(out.join(page), html).unwrap();
        entry(&mut table, path, page, "Page");
    }
    table.push(']');
    fs::write(out.join("assets.rs"), table).unwrap();
}

fn entry(table: &mut String, path: &str, file: &str, kind: &str) {
    let _ = writeln!(
        table,
        "    StaticAsset {{ path: {path:?}, content_type: {:?}, body: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\")), kind: AssetKind::{kind} }},",
        content_type(file)
    );
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        other => panic!("no content type for {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
