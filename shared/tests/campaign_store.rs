//! The campaign repository and API handler natively, on a real SQLite file via rusqlite.

use careforall::api::campaigns::{handle, Context};
use careforall::api::ApiRequest;
use careforall::domain::campaign::{CampaignPatch, CampaignStatus, NewCampaign};
use careforall::domain::money::{Currency, PositiveAmount};
use careforall::storage::campaigns::{self, PatchOutcome};
use std::cell::Cell;

mod support;
use support::db;

fn new_campaign(title: &str) -> NewCampaign {
    NewCampaign {
        title: careforall::domain::campaign::CampaignTitle::parse(title).unwrap(),
        description: careforall::domain::campaign::CampaignDescription::parse("").unwrap(),
        goal: PositiveAmount::new(1000).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        status: CampaignStatus::Active,
    }
}

#[test]
fn patch_moves_status_forward_and_refuses_reopening() {
    let (_dir, db) = db();
    let c = campaigns::insert(&db, "c1", &new_campaign("One"), 10).unwrap();
    let close = CampaignPatch {
        status: Some(CampaignStatus::Closed),
        ..Default::default()
    };
    let PatchOutcome::Updated(closed) = campaigns::patch(&db, &c.id, &close, 20).unwrap() else {
        panic!("close failed")
    };
    assert_eq!(
        (closed.status, closed.version, closed.updated_at_ms),
        (CampaignStatus::Closed, 2, 20)
    );
    let reopen = CampaignPatch {
        status: Some(CampaignStatus::Active),
        ..Default::default()
    };
    assert!(matches!(
        campaigns::patch(&db, &c.id, &reopen, 30).unwrap(),
        PatchOutcome::InvalidTransition {
            from: CampaignStatus::Closed,
            to: CampaignStatus::Active
        }
    ));
    assert!(matches!(
        campaigns::patch(&db, "missing", &reopen, 30).unwrap(),
        PatchOutcome::NotFound
    ));
}

#[test]
fn duplicate_ids_are_a_constraint_error_not_a_second_row() {
    let (_dir, db) = db();
    campaigns::insert(&db, "same", &new_campaign("A"), 1).unwrap();
    let err = campaigns::insert(&db, "same", &new_campaign("B"), 2).unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(campaigns::list(&db, 0, 10).unwrap().0.len(), 1);
}

#[test]
fn handler_creates_and_lists_through_plain_requests() {
    let (_dir, db) = db();
    let counter = Cell::new(0);
    let new_id = || {
        counter.set(counter.get() + 1);
        format!("id-{}", counter.get())
    };
    let ctx = Context {
        db: &db,
        admin_token: "tok",
        now_ms: 5,
        new_id: &new_id,
        clock: &|| 5,
        kv: None,
    };
    let create = ApiRequest {
        method: "POST".into(),
        path: "/api/v1/campaigns".into(),
        headers: vec![
            ("authorization".into(), "Bearer tok".into()),
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
        ],
        body: br#"{"title":"Clinic","goal_minor":250,"currency":"JPY"}"#.to_vec(),
        ..Default::default()
    };
    let resp = handle(&create, &ctx);
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let list = ApiRequest {
        method: "GET".into(),
        path: "/api/v1/campaigns".into(),
        ..Default::default()
    };
    let body: serde_json::Value = serde_json::from_slice(&handle(&list, &ctx).body).unwrap();
    assert_eq!(body["items"][0]["id"], "id-1");
    assert_eq!(body["items"][0]["currency"], "JPY");
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
}
