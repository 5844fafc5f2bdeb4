//! Query parameters of the list endpoints: `filter[…]`, `sort`, `limit` and `cursor`, parsed
//! and checked once, with a 400 naming the parameter for anything unusable.

use std::collections::BTreeMap;

use packyard_core::catalog::VersionState;
use percent_encoding::percent_decode_str;

use super::error::ApiError;

/// Page size when `limit` is absent, and the largest `limit` accepted (the hosted API's).
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 200;

/// The decoded query string: each parameter once.
#[derive(Debug, Default)]
pub(crate) struct Query(BTreeMap<String, String>);

impl Query {
    /// Decodes `a=1&b=2`, percent-escapes and `+` included. A parameter given twice is a 400.
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| ApiError::parameter(k, "is not valid UTF-8 once decoded"))
            };
            let (k, v) = (decode(k)?, decode(v)?);
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::parameter(
                    k,
                    "is given more than once; give it once",
                ));
            }
        }
        Ok(Self(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::parameter(
                k.clone(),
                format!(
                    "is not a parameter of this endpoint; it takes {}",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    fn page(&self) -> Result<Page, ApiError> {
        let limit = match self.get("limit") {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::parameter(
                        "limit",
                        format!("{s:?} is not a page size; give a number from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let offset = match self.get("cursor") {
            None => 0,
            Some(s) => s.parse::<usize>().map_err(|_| {
                ApiError::parameter(
                    "cursor",
                    format!("{s:?} is not a cursor; use the links.next URL of the previous page"),
                )
            })?,
        };
        Ok(Page { limit, offset })
    }
}

/// A page of a listing. The cursor is the offset of the page's first item: listings are in a
/// stable order and records are never deleted, only archived, so an offset stays meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items per page.
    pub limit: usize,
    /// Items skipped.
    pub offset: usize,
}

impl Page {
    /// The items of this page, and the cursor of the next one if there is one.
    pub fn cut<T>(&self, items: Vec<T>) -> (Vec<T>, Option<usize>) {
        let total = items.len();
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let end = self.offset.saturating_add(page.len());
        (page, (end < total).then_some(end))
    }
}

/// How `GET /v1/apps/{id}/backgroundAssets` orders packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackSort {
    /// `createdDate` (the default): oldest first.
    CreatedDate,
    /// `-createdDate`.
    CreatedDateDesc,
    /// `assetPackIdentifier`.
    Identifier,
    /// `-assetPackIdentifier`.
    IdentifierDesc,
}

impl PackSort {
    /// The `sort` parameter spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PackSort::CreatedDate => "createdDate",
            PackSort::CreatedDateDesc => "-createdDate",
            PackSort::Identifier => "assetPackIdentifier",
            PackSort::IdentifierDesc => "-assetPackIdentifier",
        }
    }
}

/// The parameters of `GET /v1/apps/{id}/backgroundAssets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackListQuery {
    /// `filter[archived]`: only archived (`true`) or only live (`false`) packs.
    pub archived: Option<bool>,
    /// `sort`.
    pub sort: PackSort,
    /// `limit` and `cursor`.
    pub page: Page,
}

impl PackListQuery {
    pub(crate) fn from_query(q: &Query) -> Result<Self, ApiError> {
        q.only(&["filter[archived]", "sort", "limit", "cursor"])?;
        let archived = match q.get("filter[archived]") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::parameter(
                    "filter[archived]",
                    format!("{other:?} is not a boolean; give true or false"),
                ));
            }
        };
        let sorts = [
            PackSort::CreatedDate,
            PackSort::CreatedDateDesc,
            PackSort::Identifier,
            PackSort::IdentifierDesc,
        ];
        let sort = match q.get("sort") {
            None => PackSort::CreatedDate,
            Some(s) => sorts.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
                ApiError::parameter(
                    "sort",
                    format!(
                        "{s:?} is not a sort order; give createdDate, -createdDate, \
                         assetPackIdentifier or -assetPackIdentifier"
                    ),
                )
            })?,
        };
        Ok(Self {
            archived,
            sort,
            page: q.page()?,
        })
    }

    /// The query string of the page starting at `cursor`, for `links.next`.
    pub fn next_query(&self, cursor: usize) -> String {
        let mut s = format!(
            "sort={}&limit={}&cursor={cursor}",
            self.sort.as_str(),
            self.page.limit
        );
        if let Some(a) = self.archived {
            s.push_str(&format!("&filter%5Barchived%5D={a}"));
        }
        s
    }
}

/// The parameters of `GET /v1/backgroundAssets/{id}/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionListQuery {
    /// `filter[state]`: comma-separated version states; empty means every state.
    pub states: Vec<VersionState>,
    /// `limit` and `cursor`.
    pub page: Page,
}

impl VersionListQuery {
    pub(crate) fn from_query(q: &Query) -> Result<Self, ApiError> {
        q.only(&["filter[state]", "limit", "cursor"])?;
        let all = [
            VersionState::AwaitingUpload,
            VersionState::Processing,
            VersionState::Complete,
            VersionState::Failed,
        ];
        let mut states = Vec::new();
        for s in q
            .get("filter[state]")
            .into_iter()
            .flat_map(|s| s.split(','))
        {
            let state = all.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
                ApiError::parameter(
                    "filter[state]",
                    format!(
                        "{s:?} is not a version state; give AWAITING_UPLOAD, PROCESSING, \
                         COMPLETE or FAILED, comma separated"
                    ),
                )
            })?;
            states.push(state);
        }
        Ok(Self {
            states,
            page: q.page()?,
        })
    }

    /// The query string of the page starting at `cursor`, for `links.next`.
    pub fn next_query(&self, cursor: usize) -> String {
        let mut s = format!("limit={}&cursor={cursor}", self.page.limit);
        if !self.states.is_empty() {
            let states: Vec<&str> = self.states.iter().map(|s| s.as_str()).collect();
            s.push_str(&format!("&filter%5Bstate%5D={}", states.join(",")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_decode_and_bad_parameters_are_named() {
        let q =
            Query::parse("filter%5Barchived%5D=true&limit=2&sort=-assetPackIdentifier").unwrap();
        let p = PackListQuery::from_query(&q).unwrap();
        assert_eq!(p.archived, Some(true));
        assert_eq!(p.sort, PackSort::IdentifierDesc);
        assert_eq!(p.page.cut(vec![1, 2, 3]), (vec![1, 2], Some(2)));
        let err = PackListQuery::from_query(&Query::parse("limit=0").unwrap()).unwrap_err();
        assert!(err.to_string().contains("1 to 200"));
        let err = PackListQuery::from_query(&Query::parse("colour=red").unwrap()).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest { pointer: Some(p), .. } if p == "colour"));
    }
}
