//! Runs progenitor on a normalised document, and renders the generated API's
//! public surface for review.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypePatch};
use serde_json::Value;

use crate::providers::ProviderDoc;

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Generates the client source for one document; errors name the file and,
/// when progenitor panics, the schema or operation that made it panic.
pub fn client_source(provider: &ProviderDoc, doc: &Value) -> Result<(String, syn::File), String> {
    let file = provider.file;
    let tokens = match run_progenitor(provider, doc) {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("{file}: progenitor refused the document: {e}")),
        Err(panic) => {
            let culprit = locate_panic(provider, doc)
                .map(|what| format!(" on {what}"))
                .unwrap_or_default();
            return Err(format!("{file}: progenitor panicked{culprit}: {panic}"));
        }
    };
    let mut syntax: syn::File =
        syn::parse2(tokens).map_err(|e| format!("{file}: generated code does not parse: {e}"))?;
    non_exhaustive_types(&mut syntax);
    let source = prettyplease::unparse(&syntax);
    for (from, to) in provider.patches {
        if !source.contains(&format!(" {to} ")) && !source.contains(&format!(" {to}(")) {
            return Err(format!(
                "{file}: the type patch `{from}` -> `{to}` matched nothing; the document's schema names changed, so update `patches` in build/providers.rs"
            ));
        }
    }
    Ok((source, syntax))
}

/// The one pass over the generated Rust (the document's passes are in
/// passes.rs): every enum, and every struct with named fields, in the
/// generated `types` module is `#[non_exhaustive]`, so that what a spec
/// update adds (a status word, a response field) is not a breaking change
/// for users. Inside this crate nothing changes: the provider files still
/// match and destructure them exhaustively, so the compiler names every
/// place a new word or field must be decided. Users build request types
/// with the generated builders, which are untouched.
fn non_exhaustive_types(file: &mut syn::File) {
    let attribute: syn::Attribute = syn::parse_quote!(#[non_exhaustive]);
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        let Some((_, items)) = &mut module.content else {
            continue;
        };
        for item in items {
            match item {
                syn::Item::Enum(e) => e.attrs.push(attribute.clone()),
                syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)) => {
                    s.attrs.push(attribute.clone());
                }
                _ => {}
            }
        }
    }
}

fn settings(provider: &ProviderDoc) -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // Auth, tracing and error-body capture are implemented by hand in
        // src/api/hooks.rs, reading the per-client `RequestContext`.
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote! { crate::RequestContext })
        .with_derive("PartialEq");
    for (from, to) in provider.patches {
        let mut patch = TypePatch::default();
        patch.with_rename(*to);
        settings.with_patch(*from, &patch);
    }
    settings
}

type Outcome = Result<Result<proc_macro2::TokenStream, progenitor::Error>, String>;

fn run_progenitor(provider: &ProviderDoc, doc: &Value) -> Outcome {
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
        .map_err(|e| format!("not an OpenAPI 3.0 document after the passes: {e}"))?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{message}{place}"));
    }));
    let result = catch_unwind(AssertUnwindSafe(|| {
        Generator::new(&settings(provider)).generate_tokens(&spec)
    }));
    std::panic::set_hook(previous);
    result.map_err(|_| {
        LAST_PANIC
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    })
}

/// Finds what progenitor cannot take. It reads every component schema before
/// any operation, so first the schemas (with no operations): the culprit is the
/// one whose replacement by `{}` stops the panic. Then each operation alone.
fn locate_panic(provider: &ProviderDoc, doc: &Value) -> Option<String> {
    let panics = |candidate: &Value| run_progenitor(provider, candidate).is_err();
    let mut components_only = doc.clone();
    components_only["paths"] = serde_json::json!({});
    if panics(&components_only) {
        let names: Vec<String> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            let mut neutral = components_only.clone();
            neutral["components"]["schemas"][&name] = serde_json::json!({});
            if !panics(&neutral) {
                return Some(format!("component schema `{name}`"));
            }
        }
        return Some("the component schemas".into());
    }
    let paths = doc.get("paths")?.as_object()?;
    for (path, item) in paths {
        for (method, op) in item.as_object()? {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut alone = doc.clone();
            let mut only = serde_json::Map::new();
            only.insert(method.clone(), op.clone());
            if let Some(params) = item.get("parameters") {
                only.insert("parameters".into(), params.clone());
            }
            alone["paths"] = serde_json::json!({ path: only });
            if panics(&alone) {
                return Some(format!(
                    "operation `{id}` ({} {path})",
                    method.to_uppercase()
                ));
            }
        }
    }
    None
}

/// The generated public surface, without bodies or doc comments: every type
/// definition, every `Client` method, and every operation builder's methods.
/// A change to a document shows up here as a readable diff.
pub fn surface(file: &syn::File) -> String {
    let mut out: Vec<syn::Item> = Vec::new();
    let mut client: Vec<syn::Signature> = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Mod(m) if m.ident == "types" => {
                let mut types: Vec<syn::Item> = Vec::new();
                for inner in m.content.iter().flat_map(|(_, items)| items) {
                    match inner {
                        syn::Item::Struct(s) => {
                            let mut s = s.clone();
                            strip_docs(&mut s.attrs);
                            s.fields.iter_mut().for_each(|f| strip_docs(&mut f.attrs));
                            types.push(syn::Item::Struct(s));
                        }
                        syn::Item::Enum(e) => {
                            let mut e = e.clone();
                            strip_docs(&mut e.attrs);
                            e.variants.iter_mut().for_each(|v| strip_docs(&mut v.attrs));
                            types.push(syn::Item::Enum(e));
                        }
                        _ => {}
                    }
                }
                out.push(syn::parse_quote! { pub mod types { #(#types)* } });
            }
            syn::Item::Impl(i)
                if i.trait_.is_none() && type_name(&i.self_ty) == Some("Client".into()) =>
            {
                client.extend(public_signatures(i));
            }
            syn::Item::Mod(m) if m.ident == "builder" => {
                for inner in m.content.iter().flat_map(|(_, items)| items) {
                    if let syn::Item::Impl(i) = inner {
                        if let (None, Some(name)) = (&i.trait_, type_name(&i.self_ty)) {
                            out.push(as_trait(&format!("builder_{name}"), public_signatures(i)));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.insert(1.min(out.len()), as_trait("Client", client));
    let file: syn::File = syn::parse_quote! { #(#out)* };
    prettyplease::unparse(&file)
}

fn strip_docs(attrs: &mut Vec<syn::Attribute>) {
    attrs.retain(|a| !a.path().is_ident("doc"));
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// An impl block's public methods' signatures.
fn public_signatures(block: &syn::ItemImpl) -> Vec<syn::Signature> {
    block
        .items
        .iter()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                Some(f.sig.clone())
            }
            _ => None,
        })
        .collect()
}

/// Signatures as a trait of bare declarations, which prettyplease can print.
fn as_trait(name: &str, sigs: Vec<syn::Signature>) -> syn::Item {
    let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
    syn::parse_quote! { pub trait #ident { #(#sigs;)* } }
}
