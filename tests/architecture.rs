//! Architecture: the library's top-level modules (the children of `src/lib.rs`) form no import
//! cycle, so each can be read, tested and moved knowing only the modules below it.
//!
//! The test reads `src/**/*.rs` (the library; not `main.rs`, not test code: `#[cfg(test)]` items,
//! `tests.rs` files and `tests/` folders may use anything), collects every path that names another
//! module — `crate::a::b`, `use crate::{a, b::c}`, `super::…` that climbs out of its top-level
//! module, `use child::…` — and builds the graph between top-level modules. On failure it prints
//! every strongly connected component, its cycles and where each edge comes from.
//!
//! The runtime is one module, `daemon` (its loops, checks, edges and log stream): it sits near
//! the top, above every pure module it uses, and below only `cli`, `demo`, `replay` and `sim`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The graph's node of a module path: its top-level module (`["traffic", "minute"]` →
/// `traffic`); none for the crate root.
fn node(path: &[String]) -> Option<String> {
    path.first().cloned()
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tops = top_modules(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    assert!(tops.len() > 10, "lib.rs declares its modules: {tops:?}");
    let graph = graph(&src, &tops);
    // The whole graph, for `cargo test --test architecture -- --nocapture`.
    for (from, edges) in &graph {
        let to: Vec<&str> = edges.keys().map(String::as_str).collect();
        println!("{from} -> {}", to.join(", "));
    }
    let cycles = report_cycles(&graph);
    assert!(
        cycles.is_empty(),
        "the top-level modules form import cycles:\n{cycles}"
    );
}

/// An edge's evidence: the first place it was seen.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn graph(src: &Path, tops: &BTreeSet<String>) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let Some(module) = module_path(rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let tokens = tokens(&strip_test_items(&tokens(&code_only(&text))));
        let Some(from) = node(&module) else {
            continue; // lib.rs: the root declares the modules, it is no node
        };
        for (path, line) in references(&tokens, &module) {
            let Some(to) = node(&path) else { continue };
            if to == from || !tops.contains(&path[0]) {
                continue; // within a module, or a crate-root item (a macro)
            }
            graph
                .entry(from.clone())
                .or_default()
                .entry(to)
                .or_insert_with(|| format!("src/{}:{line} {}", rel.display(), path.join("::")));
        }
    }
    graph
}

/// The modules `lib.rs` declares.
fn top_modules(lib: &str) -> BTreeSet<String> {
    let tokens = tokens(&code_only(lib));
    let mut tops = BTreeSet::new();
    for w in tokens.windows(3) {
        if w[0].text == "mod" && is_ident(&w[1].text) && w[2].text == ";" {
            tops.insert(w[1].text.clone());
        }
    }
    tops
}

/// Every `.rs` file under `dir` but test files (`tests.rs`, a `tests/` folder) and `main.rs`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" && name != "bin" {
                files.extend(rust_files(&path));
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && name != "main.rs" {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `chart/read.rs` → `chart::read`, `chart/mod.rs` → `chart`, `lib.rs` → the root (empty).
fn module_path(rel: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    if !(parts.is_empty() && stem == "lib") && stem != "mod" {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

/// The source with comments, string and character literals blanked out (newlines kept, so
/// line numbers hold).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[char]| {
        out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    while i < c.len() {
        let rest = &c[i..];
        if rest.starts_with(&['/', '/']) {
            let end = rest.iter().position(|&ch| ch == '\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(&['/', '*']) {
            let (mut depth, mut j) = (0, 0);
            while j < rest.len() {
                if rest[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j.min(rest.len())]);
            i += j;
        } else if let Some(len) = raw_string(rest, i > 0 && is_ident_char(c[i - 1])) {
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == '"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == '\'' {
            // A character literal ('x', '\n', '\u{..}', '{'), else a lifetime or a label.
            let end = if rest.get(1) == Some(&'\\') {
                rest.iter()
                    .skip(2)
                    .position(|&ch| ch == '\'')
                    .map(|p| p + 3)
            } else if rest.get(2) == Some(&'\'') {
                Some(3)
            } else {
                None
            };
            match end {
                Some(end) => blank(&mut out, &rest[..end]),
                None => out.push('\''),
            }
            i += end.unwrap_or(1);
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start of `s`.
fn raw_string(s: &[char], after_ident: bool) -> Option<usize> {
    if after_ident {
        return None;
    }
    let mut j = usize::from(s.first() == Some(&'b'));
    if s.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = s[j..].iter().take_while(|&&ch| ch == '#').count();
    j += hashes;
    if s.get(j) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = s[j + 1..].windows(close.len()).position(|w| w == close)?;
    Some(j + 1 + body + close.len())
}

fn is_ident_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|ch| ch.is_alphabetic() || ch == '_')
}

#[derive(Clone, Debug)]
struct Token {
    text: String,
    line: usize,
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<Token> {
    let c: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if is_ident_char(ch) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            out.push(Token { text, line });
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: ch.into(),
                line,
            });
            i += 1;
        }
    }
    out
}

/// The tokens back as text, with every item under `#[cfg(test)]` left out (an item ends at its
/// `;` or at the `}` that closes its body).
fn strip_test_items(tokens: &[Token]) -> String {
    let is_cfg_test = |i: usize| {
        let t: Vec<&str> = tokens[i..]
            .iter()
            .take(7)
            .map(|t| t.text.as_str())
            .collect();
        t == ["#", "[", "cfg", "(", "test", ")", "]"]
    };
    let (mut out, mut line, mut i) = (String::new(), 1, 0);
    while i < tokens.len() {
        if is_cfg_test(i) {
            let mut depth = 0i32;
            i += 7;
            while i < tokens.len() {
                let t = tokens[i].text.as_str();
                i += 1;
                match t {
                    "{" | "(" | "[" => depth += 1,
                    "}" | ")" | "]" => {
                        depth -= 1;
                        if depth == 0 && t == "}" {
                            break;
                        }
                    }
                    ";" if depth == 0 => break,
                    _ => {}
                }
            }
            continue;
        }
        while line < tokens[i].line {
            out.push('\n');
            line += 1;
        }
        out.push_str(&tokens[i].text);
        out.push(' ');
        i += 1;
    }
    out
}

/// Every absolute module path the code names, with its line: `crate::…`, `super::…`,
/// `self::…`, and `use` paths that start at a child module (`use rows::Row` in `history`).
fn references(tokens: &[Token], module: &[String]) -> Vec<(Vec<String>, usize)> {
    let children: BTreeSet<&str> = tokens
        .windows(2)
        .filter(|w| w[0].text == "mod" && is_ident(&w[1].text))
        .map(|w| w[1].text.as_str())
        .collect();
    let mut out = Vec::new();
    let mut in_use = false;
    for (i, t) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| tokens[p].text.as_str());
        if t.text == "use" {
            in_use = true;
            continue;
        }
        if t.text == ";" {
            in_use = false;
        }
        let starts_path = prev != Some("::");
        if !starts_path || tokens.get(i + 1).map(|n| n.text.as_str()) != Some("::") {
            continue;
        }
        let base: Vec<String> = match t.text.as_str() {
            "crate" => Vec::new(),
            "super" => {
                // `super::super::x` climbs twice; count the chain here.
                let mut base = module.to_vec();
                let mut j = i;
                while tokens.get(j).map(|t| t.text.as_str()) == Some("super")
                    && tokens.get(j + 1).map(|t| t.text.as_str()) == Some("::")
                {
                    base.pop();
                    j += 2;
                }
                for (path, line) in use_tree(tokens, j, base) {
                    out.push((path, line));
                }
                continue;
            }
            "self" => module.to_vec(),
            name if in_use && prev == Some("use") && children.contains(name) => {
                let mut base = module.to_vec();
                base.push(name.to_owned());
                base
            }
            _ => continue,
        };
        out.extend(use_tree(tokens, i + 2, base));
    }
    out.retain(|(p, _)| !p.is_empty());
    out
}

/// The paths of a use tree (or of a plain path) starting at token `i`, each under `base`:
/// `a::b`, `a::{b, c::d}`, `a::*`, `a as b`. A plain path in code stops at its first non-name.
fn use_tree(tokens: &[Token], mut i: usize, mut base: Vec<String>) -> Vec<(Vec<String>, usize)> {
    let line = tokens.get(i).map_or(0, |t| t.line);
    while let Some(t) = tokens.get(i) {
        match t.text.as_str() {
            "{" => {
                let mut out = Vec::new();
                let mut depth = 0;
                let mut start = i + 1;
                let mut j = i;
                while let Some(t) = tokens.get(j) {
                    match t.text.as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                out.extend(use_tree(&tokens[..j], start, base.clone()));
                                break;
                            }
                        }
                        "," if depth == 1 => {
                            out.extend(use_tree(&tokens[..j], start, base.clone()));
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                return out;
            }
            "self" => {}
            name if is_ident(name) && name != "as" => base.push(name.to_owned()),
            _ => break,
        }
        if tokens.get(i + 1).map(|t| t.text.as_str()) != Some("::") {
            break;
        }
        i += 2;
    }
    vec![(base, line)]
}

/// Every strongly connected component of more than one node, with its edges (and where each was
/// seen) and its simple cycles; empty when the graph is acyclic.
fn report_cycles(graph: &Graph) -> String {
    let nodes: Vec<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|e| e.keys()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |n: &str| nodes.iter().position(|m| *m == n).unwrap();
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            graph
                .get(*n)
                .map(|e| e.keys().map(|m| index(m)).collect())
                .unwrap_or_default()
        })
        .collect();
    let mut out = String::new();
    for component in components(&adj).into_iter().filter(|c| c.len() > 1) {
        let names: Vec<&str> = component.iter().map(|&n| nodes[n].as_str()).collect();
        out += &format!("component of {}: {}\n", names.len(), names.join(", "));
        for &a in &component {
            for &b in adj[a].iter().filter(|b| component.contains(b)) {
                let seen = &graph[nodes[a]][nodes[b]];
                out += &format!("  {} -> {}   ({seen})\n", nodes[a], nodes[b]);
            }
        }
        let cycles = simple_cycles(&adj, &component, 200);
        out += &format!(
            "  cycles ({}{}):\n",
            cycles.len(),
            if cycles.len() == 200 { "+" } else { "" }
        );
        for cycle in cycles {
            let names: Vec<&str> = cycle.iter().map(|&n| nodes[n].as_str()).collect();
            out += &format!("    {} -> {}\n", names.join(" -> "), names[0]);
        }
    }
    out
}

/// Tarjan's strongly connected components.
fn components(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.adj[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut c = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                c.push(w);
                if w == v {
                    break;
                }
            }
            c.sort_unstable();
            s.out.push(c);
        }
    }
    let n = adj.len();
    let mut s = State {
        adj,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The simple cycles within a component (each once, starting at its smallest node), at most
/// `cap` of them.
fn simple_cycles(adj: &[Vec<usize>], component: &[usize], cap: usize) -> Vec<Vec<usize>> {
    fn walk(
        adj: &[Vec<usize>],
        component: &[usize],
        path: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
        cap: usize,
    ) {
        let (start, last) = (path[0], *path.last().unwrap());
        for &next in &adj[last] {
            if out.len() >= cap {
                return;
            }
            if next == start {
                out.push(path.clone());
            } else if next > start && component.contains(&next) && !path.contains(&next) {
                path.push(next);
                walk(adj, component, path, out, cap);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for &start in component {
        walk(adj, component, &mut vec![start], &mut out, cap);
    }
    out.sort_by_key(Vec::len);
    out
}

#[test]
fn the_parser_finds_grouped_relative_and_plain_paths_and_skips_test_code() {
    let code = r#"
        use crate::{a, b::{c, d as e}, f::*};
        use super::g;
        use super::super::h::i;
        use rows::Row;
        mod rows;
        fn x() { crate::j::k(); let s = "crate::l::m"; let c = '{'; }
        // crate::n
        #[cfg(test)]
        mod tests { use crate::o; }
        #[cfg(test)]
        use crate::p;
        fn y<'a>(s: &'a str) { self::q::r(); }
    "#;
    let module = vec!["top".to_owned(), "sub".to_owned()];
    let tokens = tokens(&strip_test_items(&tokens(&code_only(code))));
    let mut found: Vec<String> = references(&tokens, &module)
        .into_iter()
        .map(|(p, _)| p.join("::"))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "a",
            "b::c",
            "b::d",
            "f",
            "h::i",
            "j::k",
            "top::g",
            "top::sub::q::r",
            "top::sub::rows::Row"
        ]
    );
    let nodes: Vec<Option<String>> = [&["daemon", "app", "x"][..], &["traffic", "minute"], &[]]
        .iter()
        .map(|p| node(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        .collect();
    assert_eq!(nodes, [Some("daemon".into()), Some("traffic".into()), None]);
}
