//! Rate-limit budgets that several processes spend together: which processes spend a budget now,
//! so each can send its part of it (`tether_http::BudgetPart`).
//!
//! A process spending a budget (a connection's, or a Flickr API key's) renews its row about every
//! second; a row not renewed since a moment the caller chooses (longer than the budget's window)
//! no longer counts. A count first takes the budget's lock row (instance `''`), so two processes
//! that start spending at once are counted one after the other and the second sees the first.

use sqlx::Row;

use crate::{Error, Store};

/// One budget to count: its name and since when a process's last renewal still counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetToCount {
    /// The budget's name (`connection:<id>`, `flickr-key:<hash>`).
    pub scope: String,
    /// A process whose row was renewed before this (ms since the epoch) no longer counts.
    pub counts_since_ms: i64,
}

/// Who spends one budget, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetCount {
    /// Processes spending the budget, the counting one included (at least 1).
    pub processes: u32,
    /// How many of them have a smaller name than the counting one: the processes agree on this
    /// order, so a remainder of the budget can go to the first ones without two taking it.
    pub rank: u32,
    /// Whether the counting process has just joined others: its row was missing or no longer
    /// counted, and other processes were counted. It must wait before spending.
    pub joined_others: bool,
}

/// Rows of processes gone this long before a count's horizon are deleted by the count.
const FORGET_AFTER_MS: i64 = 3_600_000;

impl Store {
    /// Renews `instance`'s row of each budget at `now_ms` and counts the processes spending it,
    /// in one transaction; answers in the order asked.
    pub async fn count_budget_spenders(
        &self,
        instance: &str,
        now_ms: i64,
        budgets: &[BudgetToCount],
    ) -> Result<Vec<BudgetCount>, Error> {
        // Budgets are locked in one order, so two processes counting the same ones never wait
        // for each other in a circle.
        let mut order: Vec<usize> = (0..budgets.len()).collect();
        order.sort_by(|a, b| budgets[*a].scope.cmp(&budgets[*b].scope));
        let mut counts = vec![
            BudgetCount {
                processes: 1,
                rank: 0,
                joined_others: false,
            };
            budgets.len()
        ];
        let mut transaction = self.pool.begin().await?;
        for index in order {
            let budget = &budgets[index];
            sqlx::query(
                "INSERT INTO budget_shares (scope, instance, seen_at_ms) VALUES ($1, '', 0) \
                 ON CONFLICT (scope, instance) DO UPDATE SET seen_at_ms = budget_shares.seen_at_ms",
            )
            .bind(&budget.scope)
            .execute(&mut *transaction)
            .await?;
            let previous: Option<i64> = sqlx::query(
                "SELECT seen_at_ms FROM budget_shares WHERE scope = $1 AND instance = $2",
            )
            .bind(&budget.scope)
            .bind(instance)
            .fetch_optional(&mut *transaction)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
            sqlx::query(
                "INSERT INTO budget_shares (scope, instance, seen_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope, instance) DO UPDATE SET seen_at_ms = excluded.seen_at_ms",
            )
            .bind(&budget.scope)
            .bind(instance)
            .bind(now_ms)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "DELETE FROM budget_shares WHERE scope = $1 AND instance <> '' AND seen_at_ms < $2",
            )
            .bind(&budget.scope)
            .bind(budget.counts_since_ms - FORGET_AFTER_MS)
            .execute(&mut *transaction)
            .await?;
            let row = sqlx::query(
                "SELECT count(*), COALESCE(SUM(CASE WHEN instance < $3 THEN 1 ELSE 0 END), 0) \
                 FROM budget_shares WHERE scope = $1 AND instance <> '' AND seen_at_ms >= $2",
            )
            .bind(&budget.scope)
            .bind(budget.counts_since_ms)
            .bind(instance)
            .fetch_one(&mut *transaction)
            .await?;
            let (processes, rank): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            let processes = u32::try_from(processes.max(1)).unwrap_or(u32::MAX);
            counts[index] = BudgetCount {
                processes,
                rank: u32::try_from(rank.max(0)).unwrap_or(u32::MAX),
                joined_others: processes > 1
                    && previous.is_none_or(|seen| seen < budget.counts_since_ms),
            };
        }
        transaction.commit().await?;
        Ok(counts)
    }
}
