//! The dashboard's analytics: continuous per-day series, seats per product and policy, and
//! licenses about to expire. The database counts (by index); this module fills the gaps
//! and adds up, over at most a few hundred days or policies.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use licentric_core::{
    wire::{
        ActivationsOnDay, AnalyticsDay, AnalyticsSeries, ExpiringLicenses, ExpiryWindow,
        PolicySeats, ProductSeats, Seats, SeatsReport, ValidationsOnDay,
    },
    ValidationCode,
};

use crate::{db, db::analytics::PolicyUse, tenant::Tenant, ApiError, AppState};

/// The windows of [`expiring`], in days.
pub const EXPIRY_WINDOWS: [u32; 3] = [7, 30, 90];

/// Every day from `from` to `to` of one product (or all): validations by code, activations,
/// deactivations and the machines active at the end of each day.
pub async fn series(
    state: &AppState,
    tenant: &Tenant,
    from: NaiveDate,
    to: NaiveDate,
    product_id: Option<&str>,
) -> Result<AnalyticsSeries, ApiError> {
    let today = state.clock.now().date_naive();
    let validations =
        db::activity::validations_by_day(state.db.sqlite()?, tenant, from, to, product_id).await?;
    // The moves after `to` (up to today) are needed too: the active machines of a day are
    // counted back from now.
    let moves = db::activity::activations_by_day(
        state.db.sqlite()?,
        tenant,
        from,
        to.max(today),
        product_id,
    )
    .await?;
    let machines_now = db::activity::machines_now(state.db.sqlite()?, tenant, product_id).await?;
    Ok(AnalyticsSeries {
        from: from.to_string(),
        to: to.to_string(),
        product_id: product_id.map(str::to_owned),
        days: days(from, to, today, &validations, &moves, machines_now),
    })
}

/// Fills the range with a day for each date, zeros where nothing happened.
///
/// The machines active at the end of day D are the machines now, less those activated
/// after D, plus those deactivated after D: every activation and deactivation is in the
/// activity log, so counting back from the machines table gives exact history, and
/// today's point is the true count now.
fn days(
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    validations: &[ValidationsOnDay],
    moves: &[ActivationsOnDay],
    machines_now: u32,
) -> Vec<AnalyticsDay> {
    let mut by_day: HashMap<&str, Vec<(ValidationCode, u32)>> = HashMap::new();
    for v in validations {
        by_day
            .entry(v.date.as_str())
            .or_default()
            .push((v.code, v.count));
    }
    let moves_by_day: HashMap<&str, &ActivationsOnDay> =
        moves.iter().map(|m| (m.date.as_str(), m)).collect();
    // Net machines added from `from` on; what is left of it after day D is the change
    // between the end of D and now.
    let mut net_after: i64 = moves
        .iter()
        .map(|m| i64::from(m.activations) - i64::from(m.deactivations))
        .sum();
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let date = day.to_string();
            let mut validations: BTreeMap<ValidationCode, u32> = ValidationCode::PRECEDENCE
                .iter()
                .map(|code| (*code, 0))
                .collect();
            for (code, count) in by_day.get(date.as_str()).into_iter().flatten() {
                validations.insert(*code, *count);
            }
            let (activations, deactivations) = moves_by_day
                .get(date.as_str())
                .map_or((0, 0), |m| (m.activations, m.deactivations));
            net_after -= i64::from(activations) - i64::from(deactivations);
            let active_machines = (day <= today).then(|| {
                // Never below zero, should the log miss a machine's activation.
                u32::try_from((i64::from(machines_now) - net_after).max(0)).unwrap_or(u32::MAX)
            });
            AnalyticsDay {
                date,
                validations_total: validations.values().sum(),
                validations,
                activations,
                deactivations,
                active_machines,
            }
        })
        .collect()
}

/// Seats of the licenses active now, per product and per policy (of one product, or all).
pub async fn seats(
    state: &AppState,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> Result<SeatsReport, ApiError> {
    let now = state.clock.now();
    let products = db::analytics::products(state.db.sqlite()?, tenant, product_id).await?;
    let policies = db::analytics::policy_use(state.db.sqlite()?, tenant, product_id, now).await?;
    let policies: Vec<PolicySeats> = policies
        .into_iter()
        .map(|policy| PolicySeats {
            seats: policy_seats(&policy),
            policy_id: policy.id,
            policy_name: policy.name,
            product_id: policy.product_id,
        })
        .collect();
    let products = products
        .into_iter()
        .map(|product| {
            let mut seats = Seats::default();
            for policy in policies.iter().filter(|p| p.product_id == product.id) {
                seats.add(&policy.seats);
            }
            ProductSeats {
                product_id: product.id,
                product_name: product.name,
                seats,
            }
        })
        .collect::<Vec<_>>();
    // Policies follow their products' order (by name), then their own.
    let rank: HashMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.product_id.as_str(), i))
        .collect();
    let mut policies = policies;
    policies.sort_by_key(|p| rank.get(p.product_id.as_str()).copied());
    Ok(SeatsReport {
        as_of: now,
        products,
        policies,
    })
}

/// A policy's seats: one per license unless floating, then `maxMachines` each, or
/// unlimited.
fn policy_seats(policy: &PolicyUse) -> Seats {
    let per_license = if policy.floating {
        policy.max_machines
    } else {
        Some(1)
    };
    match per_license {
        Some(seats) => Seats {
            active_licenses: policy.active_licenses,
            machines_used: policy.machines_used,
            seats_available: policy.active_licenses.saturating_mul(seats),
            unlimited_licenses: 0,
            machines_on_unlimited: 0,
        },
        None => Seats {
            active_licenses: policy.active_licenses,
            machines_used: policy.machines_used,
            seats_available: 0,
            unlimited_licenses: policy.active_licenses,
            machines_on_unlimited: policy.machines_used,
        },
    }
}

/// Active licenses (of one product, or all) that expire within 7, 30 and 90 days of now.
pub async fn expiring(
    state: &AppState,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> Result<ExpiringLicenses, ApiError> {
    let now = state.clock.now();
    let ends: [DateTime<Utc>; 3] = EXPIRY_WINDOWS.map(|days| now + Duration::days(days.into()));
    let counts = db::analytics::expiring(state.db.sqlite()?, tenant, product_id, now, ends).await?;
    Ok(ExpiringLicenses {
        as_of: now,
        product_id: product_id.map(str::to_owned),
        windows: EXPIRY_WINDOWS
            .iter()
            .zip(ends)
            .zip(counts)
            .map(|((days, expires_before), count)| ExpiryWindow {
                days: *days,
                expires_before,
                count,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn moved(date: &str, activations: u32, deactivations: u32) -> ActivationsOnDay {
        ActivationsOnDay {
            date: date.into(),
            activations,
            deactivations,
        }
    }

    #[test]
    fn every_day_is_present_and_active_machines_count_back_from_now() {
        let validations = [ValidationsOnDay {
            date: "2026-03-02".into(),
            code: ValidationCode::Expired,
            count: 4,
        }];
        // 2 machines now: +2 on the 1st, +2 −1 on the 3rd, and −1 on the 5th (after `to`).
        let moves = [
            moved("2026-03-01", 2, 0),
            moved("2026-03-03", 2, 1),
            moved("2026-03-05", 0, 1),
        ];
        let days = days(
            day("2026-02-28"),
            day("2026-03-04"),
            day("2026-03-05"),
            &validations,
            &moves,
            2,
        );
        let active: Vec<_> = days.iter().map(|d| d.active_machines).collect();
        assert_eq!(active, [Some(0), Some(2), Some(2), Some(3), Some(3)]);
        assert_eq!(days[0].date, "2026-02-28");
        assert_eq!(days[2].validations[&ValidationCode::Expired], 4);
        assert_eq!(days[2].validations[&ValidationCode::Valid], 0);
        assert_eq!(days[2].validations.len(), ValidationCode::PRECEDENCE.len());
        assert_eq!(days[2].validations_total, 4);
        assert_eq!((days[3].activations, days[3].deactivations), (2, 1));
        assert_eq!((days[4].activations, days[4].deactivations), (0, 0));
    }

    #[test]
    fn days_not_yet_begun_have_no_active_machines_and_a_missing_log_never_goes_negative() {
        let days = days(
            day("2026-03-01"),
            day("2026-03-03"),
            day("2026-03-02"),
            &[],
            &[moved("2026-03-02", 5, 0)],
            1,
        );
        let active: Vec<_> = days.iter().map(|d| d.active_machines).collect();
        assert_eq!(active, [Some(0), Some(1), None]);
    }

    #[test]
    fn unlimited_policies_add_licenses_not_seats() {
        let policy = |floating, max_machines| PolicyUse {
            id: "p".into(),
            name: "P".into(),
            product_id: "x".into(),
            floating,
            max_machines,
            active_licenses: 4,
            machines_used: 6,
        };
        assert_eq!(policy_seats(&policy(false, Some(9))).seats_available, 4);
        assert_eq!(policy_seats(&policy(true, Some(3))).seats_available, 12);
        let unlimited = policy_seats(&policy(true, None));
        assert_eq!(
            (
                unlimited.seats_available,
                unlimited.unlimited_licenses,
                unlimited.machines_on_unlimited
            ),
            (0, 4, 6)
        );
    }
}
