-- 002_kpi_rollup.sql — what a correct KPI report needs from the 15-minute
-- rollup that 001 lacks, and the server-side function that maintains it.
--
-- Columns added to kpi_interval (all additive, so any grouping of cells sums):
--   abandoned_within_sl  abandons at or before T (service-level formulas 1, 4)
--   sum_talk_ms          talk time of answered calls
--   handled              answered calls counted in sum_handle_ms (AHT denominator)
--   holds                answered calls that were put on hold (average-hold denominator)
--   fcr_window           the longest FCR window of the cell's calls (NULL: no FCR data)
-- and 001's `transfers` is (re)defined: the number of answered calls with at
-- least one transfer (transfer rate = transfers / answered), not a count of
-- transfers.
--
-- cs_kpi_refresh(calls uuid[], T ms, short-abandon ms) recomputes, from the
-- calls themselves, every kpi_interval row of the 15-minute intervals the
-- given calls were offered in: it deletes all the rows of those intervals
-- (every queue and agent) and inserts them again aggregated. Recomputing the
-- whole interval, not only the call's (queue, agent) cell, is what makes a
-- call that moved to another queue or agent leave its old cell: the interval
-- is fixed by invite_at, which never changes for a call (the uuid is derived
-- from it); queue_id, agent_id, outcome, metrics, FCR and scores may all
-- change and are re-read. A month has 2880 intervals, so one interval holds
-- a few hundred calls even at a million calls a month: cheap to recompute.
-- cs_kpi_refresh_range(from, to, T, short) rebuilds every interval that
-- starts in [from, to) (thresholds changed, a backfill, the benchmark).
--
-- Concurrency. Two scoring workers refreshing the same interval at once
-- would both delete the old rows and both insert: the second insert fails on
-- kpi_interval_key. So each interval is serialised by a transaction-scoped
-- advisory lock, key KPI_LOCK_NS * 2^32 + (interval_start epoch / 900),
-- KPI_LOCK_NS = x'6b7069' ('kpi'), taken in ascending order (no deadlock
-- between refreshers). In READ COMMITTED every statement after the lock sees
-- what the previous holder committed, so the last refresher of an interval
-- aggregates every committed change (call it in the transaction that writes
-- the call's metrics/score, or after it commits). More than 64 intervals in
-- one call (and every range rebuild) take LOCK TABLE kpi_interval IN SHARE
-- ROW EXCLUSIVE MODE instead: one lock, not thousands of advisory locks in
-- the shared lock table. Both functions are idempotent.

ALTER TABLE kpi_interval
    ADD COLUMN abandoned_within_sl integer  NOT NULL DEFAULT 0 CHECK (abandoned_within_sl >= 0),
    ADD COLUMN sum_talk_ms         bigint   NOT NULL DEFAULT 0 CHECK (sum_talk_ms >= 0),
    ADD COLUMN handled             integer  NOT NULL DEFAULT 0 CHECK (handled >= 0),
    ADD COLUMN holds               integer  NOT NULL DEFAULT 0 CHECK (holds >= 0),
    ADD COLUMN fcr_window          interval CHECK (fcr_window > interval '0'),
    ADD CONSTRAINT kpi_interval_counts2_ck CHECK (abandoned_within_sl <= abandoned
                                                  AND handled <= answered
                                                  AND holds <= answered
                                                  AND transfers <= answered);

COMMENT ON COLUMN kpi_interval.offered IS 'Every call of the cell, whatever its outcome (busy, no_answer, failed too).';
COMMENT ON COLUMN kpi_interval.short_abandons IS 'Abandoned calls with abandon time < short_abandon_ms (strictly below).';
COMMENT ON COLUMN kpi_interval.answered_within_sl IS 'Answered calls with answer time <= sl_threshold_ms ("within 20 s" includes 20.000 s).';
COMMENT ON COLUMN kpi_interval.abandoned_within_sl IS 'Abandoned calls with abandon time <= sl_threshold_ms.';
COMMENT ON COLUMN kpi_interval.sum_talk_ms IS 'Sum of talk_ms of answered calls.';
COMMENT ON COLUMN kpi_interval.sum_handle_ms IS 'Sum of handle_ms (talk + hold) of answered calls; AHT = sum_handle_ms / handled.';
COMMENT ON COLUMN kpi_interval.handled IS 'Answered calls counted in sum_handle_ms (every answered call: handle time falls back to answered_at .. ended_at).';
COMMENT ON COLUMN kpi_interval.sum_hold_ms IS 'Sum of hold_ms of answered calls.';
COMMENT ON COLUMN kpi_interval.holds IS 'Answered calls with hold_ms > 0; average hold = sum_hold_ms / holds.';
COMMENT ON COLUMN kpi_interval.transfers IS 'Answered calls transferred at least once; transfer rate = transfers / answered.';
COMMENT ON COLUMN kpi_interval.fcr_resolved IS 'Calls whose call_metrics.fcr_status is resolved (likewise fcr_repeat, fcr_pending).';
COMMENT ON COLUMN kpi_interval.fcr_window IS 'Longest call_metrics.fcr_window of the cell''s calls; NULL when none has FCR data.';
COMMENT ON COLUMN kpi_interval.score_count IS 'Calls with an effective score (latest scores row; COALESCE(reviewed_score, auto_score) not NULL).';
COMMENT ON COLUMN kpi_interval.critical_fails IS 'Calls whose latest score failed a critical item (COALESCE(reviewed_critical_failed, critical_failed)).';

-- Rebuilds the rows of the given interval starts (aligned to 15 minutes) from
-- the calls. The caller holds the locks. Returns the number of rows written.
CREATE FUNCTION cs_kpi_rebuild(p_starts timestamptz[], p_sl_threshold_ms integer,
                               p_short_abandon_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_rows integer;
BEGIN
    DELETE FROM kpi_interval WHERE interval_start = ANY (p_starts);
    WITH b AS (
        SELECT DISTINCT s AS start FROM unnest(p_starts) AS u(s)
    ), f AS (
        SELECT b.start, c.queue_id, c.agent_id, c.outcome,
               CASE WHEN c.outcome = 'answered' THEN
                   COALESCE(m.answer_time_ms::bigint,
                            round(extract(epoch FROM c.answered_at - c.invite_at) * 1000)::bigint)
               END AS wait_ms,
               CASE WHEN c.outcome = 'abandoned' THEN
                   COALESCE(m.abandon_time_ms::bigint,
                            round(extract(epoch FROM c.abandon_at - c.invite_at) * 1000)::bigint)
               END AS abandon_ms,
               CASE WHEN c.outcome = 'answered' THEN
                   COALESCE(m.handle_ms::bigint,
                            round(extract(epoch FROM c.ended_at - c.answered_at) * 1000)::bigint)
               END AS handle_ms,
               CASE WHEN c.outcome = 'answered' THEN COALESCE(m.hold_ms, c.hold_ms)::bigint END
                   AS hold_ms,
               CASE WHEN c.outcome = 'answered' THEN
                   COALESCE(m.talk_ms::bigint,
                            greatest(0, round(extract(epoch FROM c.ended_at - c.answered_at) * 1000)::bigint
                                        - c.hold_ms))
               END AS talk_ms,
               COALESCE(m.transfers, c.transfer_count) AS n_transfers,
               m.fcr_status, m.fcr_window, s.score, s.critical
        FROM b
        JOIN calls c ON c.invite_at >= b.start AND c.invite_at < b.start + interval '15 minutes'
        LEFT JOIN call_metrics m ON m.call_uuid = c.uuid
        LEFT JOIN LATERAL (
            SELECT COALESCE(sc.reviewed_score, sc.auto_score) AS score,
                   COALESCE(sc.reviewed_critical_failed, sc.critical_failed) AS critical
            FROM scores sc
            WHERE sc.call_uuid = c.uuid
            ORDER BY sc.computed_at DESC, sc.id DESC
            LIMIT 1) s ON true
    )
    INSERT INTO kpi_interval (
        interval_start, queue_id, agent_id, offered, answered, abandoned, short_abandons,
        answered_within_sl, abandoned_within_sl, sum_wait_ms, max_wait_ms, sum_abandon_ms,
        sum_talk_ms, sum_handle_ms, handled, sum_hold_ms, holds, transfers, fcr_resolved,
        fcr_repeat, fcr_pending, fcr_window, score_sum, score_count, critical_fails,
        sl_threshold_ms, short_abandon_ms, computed_at)
    SELECT f.start, f.queue_id, f.agent_id,
           count(*),
           count(*) FILTER (WHERE f.outcome = 'answered'),
           count(*) FILTER (WHERE f.outcome = 'abandoned'),
           count(*) FILTER (WHERE f.abandon_ms < p_short_abandon_ms),
           count(*) FILTER (WHERE f.wait_ms <= p_sl_threshold_ms),
           count(*) FILTER (WHERE f.abandon_ms <= p_sl_threshold_ms),
           COALESCE(sum(f.wait_ms), 0),
           COALESCE(max(COALESCE(f.wait_ms, f.abandon_ms)), 0),
           COALESCE(sum(f.abandon_ms), 0),
           COALESCE(sum(f.talk_ms), 0),
           COALESCE(sum(f.handle_ms), 0),
           count(f.handle_ms),
           COALESCE(sum(f.hold_ms), 0),
           count(*) FILTER (WHERE f.hold_ms > 0),
           count(*) FILTER (WHERE f.outcome = 'answered' AND f.n_transfers > 0),
           count(*) FILTER (WHERE f.fcr_status = 'resolved'),
           count(*) FILTER (WHERE f.fcr_status = 'repeat'),
           count(*) FILTER (WHERE f.fcr_status = 'pending'),
           max(f.fcr_window),
           COALESCE(sum(f.score), 0),
           count(f.score),
           count(*) FILTER (WHERE f.critical),
           p_sl_threshold_ms, p_short_abandon_ms, now()
    FROM f
    GROUP BY f.start, f.queue_id, f.agent_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION cs_kpi_rebuild(timestamptz[], integer, integer) IS
    'Internal to cs_kpi_refresh*: deletes and re-aggregates every kpi_interval row of the given interval starts. '
    'The caller must hold the locks.';

CREATE FUNCTION cs_kpi_check_thresholds(p_sl_threshold_ms integer, p_short_abandon_ms integer)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_sl_threshold_ms IS NULL OR p_sl_threshold_ms < 0
       OR p_short_abandon_ms IS NULL OR p_short_abandon_ms < 0 THEN
        RAISE EXCEPTION 'cs_kpi_refresh: thresholds must be >= 0 ms (got % and %)',
            p_sl_threshold_ms, p_short_abandon_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

CREATE FUNCTION cs_kpi_refresh(p_calls uuid[], p_sl_threshold_ms integer,
                               p_short_abandon_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_starts timestamptz[];
    v_start  timestamptz;
BEGIN
    PERFORM cs_kpi_check_thresholds(p_sl_threshold_ms, p_short_abandon_ms);
    SELECT array_agg(DISTINCT date_bin('15 minutes', c.invite_at, 'epoch'::timestamptz)
                     ORDER BY date_bin('15 minutes', c.invite_at, 'epoch'::timestamptz))
      INTO v_starts
      FROM calls c
     WHERE c.uuid = ANY (p_calls);
    IF v_starts IS NULL THEN
        RETURN 0;
    END IF;
    IF cardinality(v_starts) > 64 THEN
        LOCK TABLE kpi_interval IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        FOREACH v_start IN ARRAY v_starts LOOP -- ascending: no deadlock between refreshers
            PERFORM pg_advisory_xact_lock(x'6b7069'::bigint * 4294967296
                                          + (extract(epoch FROM v_start)::bigint / 900));
        END LOOP;
    END IF;
    RETURN cs_kpi_rebuild(v_starts, p_sl_threshold_ms, p_short_abandon_ms);
END
$$;
COMMENT ON FUNCTION cs_kpi_refresh(uuid[], integer, integer) IS
    'Recomputes every kpi_interval row of the 15-minute intervals the given calls were offered in (all queues '
    'and agents of those intervals) from calls, call_metrics and the latest scores row, with service-level '
    'threshold T and short-abandon threshold (ms). Idempotent; serialised per interval. Returns rows written.';

CREATE FUNCTION cs_kpi_refresh_range(p_from timestamptz, p_to timestamptz, p_sl_threshold_ms integer,
                                     p_short_abandon_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_starts timestamptz[];
BEGIN
    PERFORM cs_kpi_check_thresholds(p_sl_threshold_ms, p_short_abandon_ms);
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'cs_kpi_refresh_range: need from < to'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOCK TABLE kpi_interval IN SHARE ROW EXCLUSIVE MODE;
    -- every aligned start in [from, to): intervals without calls lose their rows
    SELECT array_agg(g) INTO v_starts
      FROM generate_series(date_bin('15 minutes', p_from, 'epoch'::timestamptz)
                             + CASE WHEN date_bin('15 minutes', p_from, 'epoch'::timestamptz) < p_from
                                    THEN interval '15 minutes' ELSE interval '0' END,
                           p_to - interval '1 microsecond', interval '15 minutes') AS g;
    IF v_starts IS NULL THEN
        RETURN 0;
    END IF;
    RETURN cs_kpi_rebuild(v_starts, p_sl_threshold_ms, p_short_abandon_ms);
END
$$;
COMMENT ON FUNCTION cs_kpi_refresh_range(timestamptz, timestamptz, integer, integer) IS
    'Rebuilds every kpi_interval row whose 15-minute interval starts in [from, to), under a table lock. '
    'Returns rows written.';
