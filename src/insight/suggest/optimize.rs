//! Optimize: the hourly needs raised where that spares entries, shaped by `lead` and `lag`,
//! and written as schedule text.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{DAY_MINUTES, WEEK_MINUTES};

/// Raises hourly needs where that spares schedule entries, spending at most `budget` extra
/// dyno-hours; the needs of one day to a week of hours (a multiple of 24), the week wrapping
/// around.
///
/// Greedy from several starts, keeping the plan with the fewest entries (then the cheapest):
/// the needs as they are, the usual weeks (Monday to Friday alike, with Saturday and Sunday
/// alike or apart, or every day alike), and the days merged two groups at a time, cheapest
/// first. From each start, every round takes the move that spares entries at the least cost per
/// entry spared, until no move fits the budget or spares any. Moves only raise:
/// - a run of equal hours lower than a neighbour rises to the lower of its higher neighbours
///   (a step or a dip disappears), on its day alone or on every day alike with it;
/// - two groups of alike days (equal hour by hour) take the larger need of each hour, so they
///   share their entries.
///
/// Entries are counted on the hourly plan as the schedule will write them: each change is keyed
/// by hour of the day, quantity and direction (a rise moves by `lead`, a fall by `lag`).
pub(super) fn simplify(needed: &[u32], budget: u64) -> Vec<u32> {
    let mut best: Option<(usize, u64, Vec<u32>)> = None;
    let starts = starts(needed);
    for (i, start) in starts.iter().enumerate() {
        if starts[..i].contains(start) {
            continue;
        }
        let cost = extra(needed, start);
        if cost > budget {
            continue;
        }
        let (plan, spent) = greedy(start.clone(), budget - cost);
        let key = (entry_count(&plan), cost + spent);
        if best.as_ref().is_none_or(|(e, c, _)| key < (*e, *c)) {
            best = Some((key.0, key.1, plan));
        }
    }
    best.map_or_else(|| needed.to_vec(), |(_, _, plan)| plan)
}

/// Dyno-hours `raised` adds to `plan` (every hour of it at least as high).
pub(super) fn extra(plan: &[u32], raised: &[u32]) -> u64 {
    raised
        .iter()
        .zip(plan)
        .map(|(&after, &before)| u64::from(after.saturating_sub(before)))
        .sum()
}

/// The greedy rounds of [`simplify`] from `plan`: the plan reached and the dyno-hours spent.
pub(super) fn greedy(mut plan: Vec<u32>, budget: u64) -> (Vec<u32>, u64) {
    let mut spent = 0;
    loop {
        let entries = entry_count(&plan);
        let mut best: Option<(u64, usize, Vec<u32>)> = None;
        for candidate in moves(&plan) {
            let cost = extra(&plan, &candidate);
            if spent + cost > budget {
                continue;
            }
            let spared = entries.saturating_sub(entry_count(&candidate));
            if spared == 0 {
                continue;
            }
            // Least cost per entry spared: cost / spared < best_cost / best_spared.
            if best
                .as_ref()
                .is_none_or(|(c, s, _)| cost * (*s as u64) < c * spared as u64)
            {
                best = Some((cost, spared, candidate));
            }
        }
        let Some((cost, _, candidate)) = best else {
            return (plan, spent);
        };
        spent += cost;
        plan = candidate;
    }
}

/// The starts of [`simplify`]: the needs, the usual weeks, and the days merged two groups at a
/// time, cheapest first.
pub(super) fn starts(needed: &[u32]) -> Vec<Vec<u32>> {
    let days = needed.len() / 24;
    let mut starts = vec![needed.to_vec()];
    if days == 7 {
        let weekdays: Vec<usize> = (0..5).collect();
        starts.push(aligned(needed, &[weekdays.clone(), vec![5, 6]]));
        starts.push(aligned(needed, &[weekdays]));
        starts.push(aligned(needed, &[(0..7).collect()]));
    }
    let mut groups: Vec<Vec<usize>> = (0..days).map(|d| vec![d]).collect();
    while groups.len() > 1 {
        let mut cheapest: Option<(u64, Vec<Vec<usize>>)> = None;
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                let mut merged = groups.clone();
                let moved = merged.remove(j);
                merged[i].extend(moved);
                let cost = extra(needed, &aligned(needed, &merged));
                if cheapest.as_ref().is_none_or(|(c, _)| cost < *c) {
                    cheapest = Some((cost, merged));
                }
            }
        }
        let Some((_, merged)) = cheapest else {
            break;
        };
        groups = merged;
        starts.push(aligned(needed, &groups));
    }
    starts
}

/// `plan` with the days of each group raised to the group's largest need of each hour.
pub(super) fn aligned(plan: &[u32], groups: &[Vec<usize>]) -> Vec<u32> {
    let mut aligned = plan.to_vec();
    for group in groups {
        for h in 0..24 {
            let most = group.iter().map(|&d| plan[d * 24 + h]).max().unwrap_or(0);
            for &d in group {
                aligned[d * 24 + h] = most;
            }
        }
    }
    aligned
}

/// Entries an hourly plan (the week, cyclic) will need: its changes, keyed by hour of the day,
/// quantity and direction.
pub(super) fn entry_count(plan: &[u32]) -> usize {
    let n = plan.len();
    let mut keys: Vec<u64> = (0..n)
        .filter_map(|i| {
            let before = plan[(i + n - 1) % n];
            let key = (i % 24) as u64 * (2 << 32) + u64::from(plan[i]) * 2;
            (plan[i] != before).then_some(key + u64::from(plan[i] > before))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len()
}

/// Every raising move of [`simplify`] from `plan`, as the plan after it.
pub(super) fn moves(plan: &[u32]) -> Vec<Vec<u32>> {
    let n = plan.len();
    let days = n / 24;
    let day = |d: usize| &plan[d * 24..d * 24 + 24];
    // Each day's group: the first day alike with it.
    let group: Vec<usize> = (0..days)
        .map(|d| (0..days).find(|&e| day(e) == day(d)).unwrap_or(d))
        .collect();
    let mut moves = Vec::new();
    for (start, end, target) in raisable_runs(plan) {
        let first_day = start % n / 24;
        // The run raised on the days `on` picks, at the same hours of each.
        let raised_on = |on: &dyn Fn(usize) -> bool| {
            let mut raised = plan.to_vec();
            for d in (0..days).filter(|&d| on(d)) {
                let shift = (d + days - first_day) % days * 24;
                for i in start..end {
                    let j = (i + shift) % n;
                    raised[j] = raised[j].max(target);
                }
            }
            raised
        };
        moves.push(raised_on(&|d| d == first_day));
        if group.iter().filter(|&&g| g == group[first_day]).count() > 1 {
            moves.push(raised_on(&|d| group[d] == group[first_day]));
        }
    }
    // Each two groups aligned: all their days take the larger need of each hour.
    let mut leaders: Vec<usize> = group.clone();
    leaders.sort_unstable();
    leaders.dedup();
    for (i, &a) in leaders.iter().enumerate() {
        for &b in &leaders[i + 1..] {
            let pair: Vec<usize> = (0..days)
                .filter(|&d| group[d] == a || group[d] == b)
                .collect();
            moves.push(aligned(plan, &[pair]));
        }
    }
    moves
}

/// The runs of equal hours (the week wrapping around) lower than a neighbour: `[start, end)`
/// (`end` may pass the week's end; indices wrap) and the lower of the higher neighbours.
pub(super) fn raisable_runs(plan: &[u32]) -> Vec<(usize, usize, u32)> {
    let n = plan.len();
    let mut runs = Vec::new();
    let Some(first) = (0..n).find(|&i| plan[i] != plan[(i + n - 1) % n]) else {
        return runs;
    };
    let mut start = first;
    while start < first + n {
        let value = plan[start % n];
        let mut end = start + 1;
        while plan[end % n] == value {
            end += 1;
        }
        let before = plan[(start + n - 1) % n];
        let after = plan[end % n];
        if let Some(target) = [before, after].into_iter().filter(|&v| v > value).min() {
            runs.push((start, end, target));
        }
        start = end;
    }
    runs
}

/// A duration in whole minutes, rounded up.
pub(super) fn whole_minutes(d: Duration) -> i64 {
    d.as_nanos().div_ceil(60_000_000_000) as i64
}

/// The quantity for every minute of the week (Monday 00:00 local first): the largest hourly
/// need in `[t - lag, t + lead]`, the week wrapping around.
pub(super) fn shape(needed: &[u32], lead: i64, lag: i64) -> Vec<u32> {
    let hours = needed.len() as i64;
    (0..WEEK_MINUTES)
        .map(|t| {
            let first = (t - lag).div_euclid(60);
            let last = (t + lead).div_euclid(60);
            (first..=last)
                .map(|h| needed[h.rem_euclid(hours) as usize])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The schedule text for a week of quantities (see the module docs).
pub(super) fn schedule_text(week: &[u32]) -> String {
    // (minute of the day, quantity) -> the days (Monday first) it changes to that quantity then.
    let mut firings: BTreeMap<(usize, u32), [bool; 7]> = BTreeMap::new();
    for (t, &quantity) in week.iter().enumerate() {
        let before = week[(t + week.len() - 1) % week.len()];
        if quantity != before {
            let day = t / DAY_MINUTES as usize;
            firings
                .entry((t % DAY_MINUTES as usize, quantity))
                .or_default()[day] = true;
        }
    }
    if firings.is_empty() {
        return format!("00:00={}", week.first().copied().unwrap_or(0));
    }
    let entries: Vec<String> = firings
        .iter()
        .map(|(&(minute, quantity), days)| {
            let (hour, minute) = (minute / 60, minute % 60);
            if days.iter().all(|&d| d) {
                format!("{hour:02}:{minute:02}={quantity}")
            } else {
                format!("{minute} {hour} * * {}={quantity}", cron_days(days))
            }
        })
        .collect();
    entries.join("; ")
}

/// A cron day-of-week list for days given Monday first: runs of three or more weekdays as a
/// range (`1-5`), Sunday (0) last, as people write a week (`6,0`).
pub(super) fn cron_days(days: &[bool; 7]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut day = 0;
    while day < 6 {
        if !days[day] {
            day += 1;
            continue;
        }
        let mut end = day;
        while end + 1 < 6 && days[end + 1] {
            end += 1;
        }
        if end - day >= 2 {
            parts.push(format!("{}-{}", day + 1, end + 1));
        } else {
            parts.extend((day..=end).map(|d| (d + 1).to_string()));
        }
        day = end + 1;
    }
    if days[6] {
        parts.push("0".to_owned());
    }
    parts.join(",")
}
