-- 003_kpi_daily.sql — a daily rollup beside the 15-minute one, so that a
-- report over whole days reads one row per (day, queue, agent) instead of
-- up to 96: its cost follows days x queues x agents, not how full the
-- 15-minute grid is (a month of 1 M calls fills nearly every 15-minute cell
-- of 100 agents; a month of 100 k leaves most empty).
--
-- kpi_daily holds, per UTC day and (queue, agent) cell, the sums of that
-- day's kpi_interval rows: every additive column of kpi_interval under the
-- same name, max_wait_ms as the maximum, and for the per-row settings the
-- range seen (sl_threshold_min_ms/_max_ms, short_abandon_min_ms/_max_ms,
-- fcr_window_min/_max) so the report can still warn about mixed thresholds.
-- interval_start is the start of the UTC day (the daily rollup's interval),
-- so the report's day/week/month labels are the same expressions on both
-- tables.
--
-- It is derived from kpi_interval only, never from the calls, and kept
-- true by the one path that writes kpi_interval: cs_kpi_rebuild (called by
-- cs_kpi_refresh and cs_kpi_refresh_range) ends by re-aggregating every day
-- it touched. cs_kpi_daily_refresh(from, to) re-aggregates the days
-- overlapping [from, to) (NULL, NULL: every day) for whoever wrote
-- kpi_interval another way (a restore, a test).
--
-- Concurrency: a day is re-aggregated under a transaction-scoped advisory
-- lock, key KPD_LOCK_NS * 2^32 + (day start epoch / 86400), KPD_LOCK_NS =
-- x'6b7064' ('kpd'), days in ascending order, taken after the caller's
-- kpi_interval writes (so a refresher holding a day lock never waits for a
-- kpi_interval lock: no cycle with the 15-minute locks or LOCK TABLE). In
-- READ COMMITTED the statement after the lock sees every kpi_interval
-- change committed by the previous holder plus the caller's own, so the
-- last refresher of a day aggregates all of them. More than 64 days at once
-- take LOCK TABLE kpi_daily IN SHARE ROW EXCLUSIVE MODE instead.
--
-- JIT. The planner cannot see how many intervals a refresh gets (an array
-- parameter), so at a million calls its estimate for one interval passes
-- jit_above_cost and every per-call refresh paid ~0.5 s compiling the
-- query: measured 370 ms per cs_kpi_refresh with JIT, 23 ms without
-- (bench/kpi). cs_kpi_refresh and cs_kpi_daily_rebuild run with jit = off;
-- cs_kpi_refresh_range (a month at once) keeps the session's setting.

CREATE TABLE kpi_daily (
    interval_start       timestamptz NOT NULL CHECK (extract(epoch FROM interval_start) % 86400 = 0),
    queue_id             bigint      REFERENCES queues (id) ON DELETE RESTRICT,
    agent_id             bigint      REFERENCES agents (id) ON DELETE RESTRICT,
    offered              integer     NOT NULL CHECK (offered >= 0),
    answered             integer     NOT NULL CHECK (answered >= 0),
    abandoned            integer     NOT NULL CHECK (abandoned >= 0),
    short_abandons       integer     NOT NULL CHECK (short_abandons >= 0),
    answered_within_sl   integer     NOT NULL CHECK (answered_within_sl >= 0),
    abandoned_within_sl  integer     NOT NULL CHECK (abandoned_within_sl >= 0),
    sum_wait_ms          bigint      NOT NULL CHECK (sum_wait_ms >= 0),
    max_wait_ms          integer     NOT NULL CHECK (max_wait_ms >= 0),
    sum_abandon_ms       bigint      NOT NULL CHECK (sum_abandon_ms >= 0),
    sum_talk_ms          bigint      NOT NULL CHECK (sum_talk_ms >= 0),
    sum_handle_ms        bigint      NOT NULL CHECK (sum_handle_ms >= 0),
    handled              integer     NOT NULL CHECK (handled >= 0),
    sum_hold_ms          bigint      NOT NULL CHECK (sum_hold_ms >= 0),
    holds                integer     NOT NULL CHECK (holds >= 0),
    transfers            integer     NOT NULL CHECK (transfers >= 0),
    fcr_resolved         integer     NOT NULL CHECK (fcr_resolved >= 0),
    fcr_repeat           integer     NOT NULL CHECK (fcr_repeat >= 0),
    fcr_pending          integer     NOT NULL CHECK (fcr_pending >= 0),
    fcr_window_min       interval,
    fcr_window_max       interval,
    score_sum            numeric(14,2) NOT NULL CHECK (score_sum >= 0),
    score_count          integer     NOT NULL CHECK (score_count >= 0),
    critical_fails       integer     NOT NULL CHECK (critical_fails >= 0),
    sl_threshold_min_ms  integer     NOT NULL CHECK (sl_threshold_min_ms >= 0),
    sl_threshold_max_ms  integer     NOT NULL CHECK (sl_threshold_max_ms >= sl_threshold_min_ms),
    short_abandon_min_ms integer     NOT NULL CHECK (short_abandon_min_ms >= 0),
    short_abandon_max_ms integer     NOT NULL CHECK (short_abandon_max_ms >= short_abandon_min_ms),
    computed_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT kpi_daily_key UNIQUE NULLS NOT DISTINCT (interval_start, queue_id, agent_id)
);
CREATE INDEX kpi_daily_queue_idx ON kpi_daily (queue_id, interval_start);
CREATE INDEX kpi_daily_agent_idx ON kpi_daily (agent_id, interval_start);
COMMENT ON TABLE kpi_daily IS
    'Daily (UTC) sums of kpi_interval per (day, queue, agent), maintained by cs_kpi_rebuild; '
    '`callscope report kpi` reads it for the whole days of a range and kpi_interval for the rest.';
COMMENT ON COLUMN kpi_daily.interval_start IS 'Start of the UTC day.';
COMMENT ON COLUMN kpi_daily.max_wait_ms IS 'Longest wait of the day''s cell (max of kpi_interval.max_wait_ms).';
COMMENT ON COLUMN kpi_daily.sl_threshold_min_ms IS 'Smallest and largest (_max_ms) kpi_interval.sl_threshold_ms of the day''s rows.';
COMMENT ON COLUMN kpi_daily.short_abandon_min_ms IS 'Smallest and largest (_max_ms) kpi_interval.short_abandon_ms of the day''s rows.';
COMMENT ON COLUMN kpi_daily.fcr_window_min IS 'Shortest and longest (fcr_window_max) kpi_interval.fcr_window of the day''s rows; NULL: none.';

-- Re-aggregates the kpi_daily rows of the given day starts from kpi_interval,
-- taking the day locks. Returns the number of rows written.
CREATE FUNCTION cs_kpi_daily_rebuild(p_days timestamptz[]) RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    v_days timestamptz[];
    v_day  timestamptz;
    v_rows integer;
BEGIN
    SELECT array_agg(DISTINCT date_bin('1 day', d, 'epoch'::timestamptz)
                     ORDER BY date_bin('1 day', d, 'epoch'::timestamptz))
      INTO v_days
      FROM unnest(p_days) AS u(d)
     WHERE d IS NOT NULL;
    IF v_days IS NULL THEN
        RETURN 0;
    END IF;
    IF cardinality(v_days) > 64 THEN
        LOCK TABLE kpi_daily IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        FOREACH v_day IN ARRAY v_days LOOP -- ascending: no deadlock between refreshers
            PERFORM pg_advisory_xact_lock(x'6b7064'::bigint * 4294967296
                                          + (extract(epoch FROM v_day)::bigint / 86400));
        END LOOP;
    END IF;
    DELETE FROM kpi_daily WHERE interval_start = ANY (v_days);
    INSERT INTO kpi_daily (
        interval_start, queue_id, agent_id, offered, answered, abandoned, short_abandons,
        answered_within_sl, abandoned_within_sl, sum_wait_ms, max_wait_ms, sum_abandon_ms,
        sum_talk_ms, sum_handle_ms, handled, sum_hold_ms, holds, transfers, fcr_resolved,
        fcr_repeat, fcr_pending, fcr_window_min, fcr_window_max, score_sum, score_count,
        critical_fails, sl_threshold_min_ms, sl_threshold_max_ms, short_abandon_min_ms,
        short_abandon_max_ms, computed_at)
    SELECT d.day, k.queue_id, k.agent_id,
           sum(k.offered), sum(k.answered), sum(k.abandoned), sum(k.short_abandons),
           sum(k.answered_within_sl), sum(k.abandoned_within_sl), sum(k.sum_wait_ms),
           max(k.max_wait_ms), sum(k.sum_abandon_ms), sum(k.sum_talk_ms), sum(k.sum_handle_ms),
           sum(k.handled), sum(k.sum_hold_ms), sum(k.holds), sum(k.transfers),
           sum(k.fcr_resolved), sum(k.fcr_repeat), sum(k.fcr_pending),
           min(k.fcr_window), max(k.fcr_window), sum(k.score_sum), sum(k.score_count),
           sum(k.critical_fails), min(k.sl_threshold_ms), max(k.sl_threshold_ms),
           min(k.short_abandon_ms), max(k.short_abandon_ms), now()
    FROM unnest(v_days) AS d(day)
    JOIN kpi_interval k ON k.interval_start >= d.day AND k.interval_start < d.day + interval '1 day'
    GROUP BY d.day, k.queue_id, k.agent_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION cs_kpi_daily_rebuild(timestamptz[]) IS
    'Re-aggregates the kpi_daily rows of the UTC days containing the given times from kpi_interval, '
    'under per-day advisory locks (a table lock past 64 days). Returns rows written.';

CREATE FUNCTION cs_kpi_daily_refresh(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_from timestamptz := p_from;
    v_to   timestamptz := p_to;
BEGIN
    IF (p_from IS NULL) <> (p_to IS NULL) THEN
        RAISE EXCEPTION 'cs_kpi_daily_refresh: give both from and to, or neither (every day)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from IS NULL THEN
        LOCK TABLE kpi_daily IN SHARE ROW EXCLUSIVE MODE;
        DELETE FROM kpi_daily;
        SELECT min(interval_start), max(interval_start) + interval '1 microsecond'
          INTO v_from, v_to FROM kpi_interval;
        IF v_from IS NULL THEN
            RETURN 0;
        END IF;
    ELSIF p_from >= p_to THEN
        RAISE EXCEPTION 'cs_kpi_daily_refresh: need from < to'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN cs_kpi_daily_rebuild(ARRAY(
        SELECT generate_series(date_bin('1 day', v_from, 'epoch'::timestamptz),
                               v_to - interval '1 microsecond', interval '1 day')));
END
$$;
COMMENT ON FUNCTION cs_kpi_daily_refresh(timestamptz, timestamptz) IS
    'Re-aggregates kpi_daily for every UTC day overlapping [from, to) from kpi_interval (NULL, NULL: '
    'every day). For writers of kpi_interval other than cs_kpi_refresh*. Returns rows written.';

-- 002's cs_kpi_rebuild keeps its body under a new name; cs_kpi_rebuild (the
-- name cs_kpi_refresh and cs_kpi_refresh_range call, resolved when they run)
-- becomes: rebuild the intervals, then re-aggregate their days.
ALTER FUNCTION cs_kpi_rebuild(timestamptz[], integer, integer) RENAME TO cs_kpi_rebuild_intervals;
COMMENT ON FUNCTION cs_kpi_rebuild_intervals(timestamptz[], integer, integer) IS
    'Internal to cs_kpi_rebuild (002''s body): deletes and re-aggregates every kpi_interval row of the '
    'given interval starts. The caller must hold the locks.';

CREATE FUNCTION cs_kpi_rebuild(p_starts timestamptz[], p_sl_threshold_ms integer,
                               p_short_abandon_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_rows integer;
BEGIN
    v_rows := cs_kpi_rebuild_intervals(p_starts, p_sl_threshold_ms, p_short_abandon_ms);
    PERFORM cs_kpi_daily_rebuild(p_starts);
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION cs_kpi_rebuild(timestamptz[], integer, integer) IS
    'Internal to cs_kpi_refresh*: rebuilds the kpi_interval rows of the given interval starts '
    '(cs_kpi_rebuild_intervals), then the kpi_daily rows of their days (cs_kpi_daily_rebuild). '
    'The caller must hold the interval locks; the day locks are taken here.';

ALTER FUNCTION cs_kpi_refresh(uuid[], integer, integer) SET jit = off;

-- the days already rolled up
SELECT cs_kpi_daily_refresh(NULL, NULL);
