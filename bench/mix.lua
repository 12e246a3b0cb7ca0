-- bench/mix.lua - the Tixin load mix for wrk 4.x (run it through bench/run).
--
--   wrk -t1 -c1000 -d30s --latency -s bench/mix.lua http://127.0.0.1:PORT \
--       -- SEED.json [mode=saturated|paced] [pace_ms=60] [mix=default|reads|writes]
--
-- SEED.json is what `tixin demo --profile bench --out SEED.json` writes:
-- {"events": [10 event ids], "tokens": [500 bearer tokens]}. The venue has
-- 20 sections A..T x 25 rows x 20 seats; seat ids are "<A..T>-<1..25>-<1..20>".
--
-- The mix, per request:
--   30%  GET /api/v1/events
--   20%  GET /api/v1/events/{id}                      (random event)
--   20%  GET /api/v1/events/{id}/seats?view=compact   (random event)
--   30%  a write:
--          if this thread holds a hold that it has not released yet,
--          DELETE /api/v1/holds/{id} for the oldest one (FIFO),
--          else POST /api/v1/events/{id}/holds {"seats": [2 adjacent seats]}
--          on a random event, row and pair of seats.
-- Reads send Accept-Encoding: gzip, as browsers and the web UI do (the
-- compact map is ~23 KB plain, ~1 KB gzipped).
--
-- Why a FIFO per thread and not "per connection": wrk calls request() and
-- response() per thread, without telling which connection a response
-- belongs to (one Lua state per thread, many connections). Every 201 in
-- this mix is a hold, so response() takes the hold id out of each 201 body
-- and queues it; the thread's next write releases the oldest queued hold.
-- So after each successful hold, a write (of some connection of the same
-- thread) releases it: holds and releases alternate per thread, and every
-- hold lives about as long as one write slot. A hold that failed (409
-- seat_unavailable when two random pairs collide) queues nothing.
--
-- Tokens: a release must carry the token of the user who made the hold,
-- and response() does not know which request it answers. So the user of a
-- hold is a pure function of what the hold response itself contains: its
-- first seat id, through a table made at init (the 10,000 seat ids spread
-- evenly over the 500 users, 20 each, by a fixed permutation). request()
-- picks the seats, then the token from them; response() looks the same
-- token up from the 201 body. Over random seats this spreads writes evenly
-- over the users (in place of a plain round robin, which could not be
-- recovered).
--
-- Cost: wrk runs this script on the same two cores as the server, so its
-- CPU per request is taken from the server's. Holds are pre-formatted at
-- init (a pool of HOLD_POOL random holds per thread, picked at random),
-- the token is a table lookup and a 201 body is matched once for its id
-- and first seat; only releases are formatted per request (their hold id
-- is known only then).
--
-- mix=reads sends only the three reads (in their 30:20:20 proportions),
-- mix=writes only the writes: for finding which side limits a run.
--
-- Paced mode (mode=paced): delay() makes each
-- connection wait PACE_MS (default 60) ms, +-10% jitter, after each
-- response, so 1,000 connections offer about 16k req/s. Note that wrk 4
-- measures latency from when a request is actually sent: it does not
-- correct for coordinated omission (a stalled server delays the requests
-- that would have seen the stall), so under saturation percentiles are
-- optimistic; in paced mode they are meaningful as long as the offered
-- rate is met (compare the measured req/s with the offered rate).

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

-- --- per thread state ----------------------------------------------------

local events, tokens = {}, {}
local nevents, ntokens = 0, 0
local paced, pace_ms = false, 60
local write_pct = 30                      -- mix=reads: 0, mix=writes: 100
local queue, qhead, qtail = {}, 1, 0      -- FIFO of {hold id, token}
local reqs = {}                           -- pre-formatted read requests
local sections = "ABCDEFGHIJKLMNOPQRST"

-- counters, read by done() through thread:get()
n_list, n_event, n_seats, n_hold, n_release = 0, 0, 0, 0, 0
s2xx, s409, sother, s5xx = 0, 0, 0, 0
s200, s201, s204, s404 = 0, 0, 0, 0
holds_queued, other_codes = 0, ""
mode_text = "saturated"
local other_seen = {}

local function read_file(path)
    local f = assert(io.open(path, "r"), "cannot open seed file " .. tostring(path))
    local s = f:read("*a")
    f:close()
    return s
end

-- The seed JSON is flat: pull the strings out of the two arrays.
local function json_string_array(text, key)
    local body = text:match('"' .. key .. '"%s*:%s*%[(.-)%]')
    assert(body, "seed file has no \"" .. key .. "\" array")
    local out = {}
    for s in body:gmatch('"([^"]*)"') do out[#out + 1] = s end
    return out
end

local HOLD_POOL = 16384
local seat_token = {}                     -- seat id -> bearer token
local holds = {}                          -- pre-formatted hold requests

local function seat_id(si, row, n)
    return sections:sub(si, si) .. "-" .. row .. "-" .. n
end

-- Seat k (0..9999, in layout order) belongs to user (k * 7919 mod 10000)
-- mod 500: 7919 is prime to 10000, so that is a permutation and every
-- user gets 20 seats, scattered over the venue.
local function make_seat_tokens()
    local k = 0
    for si = 1, 20 do
        for row = 1, 25 do
            for n = 1, 20 do
                seat_token[seat_id(si, row, n)] = tokens[((k * 7919) % 10000) % ntokens + 1]
                k = k + 1
            end
        end
    end
end

local function format_hold()
    local ev = events[math.random(nevents)]
    local si, row, n = math.random(20), math.random(25), math.random(19)
    local a, b = seat_id(si, row, n), seat_id(si, row, n + 1)
    return wrk.format("POST", "/api/v1/events/" .. ev .. "/holds", {
        ["Authorization"] = "Bearer " .. seat_token[a],
        ["Content-Type"] = "application/json",
    }, '{"seats":["' .. a .. '","' .. b .. '"]}')
end

function init(args)
    local tid = tid or 1
    math.randomseed(os.time() + tid * 7919)
    -- arguments: SEED.json, then key=value options
    local opt = {}
    for i = 2, #args do
        local k, v = args[i]:match("^([%w_]+)=(.*)$")
        if k then opt[k] = v end
    end
    local seed = read_file(args[1])
    events = json_string_array(seed, "events")
    tokens = json_string_array(seed, "tokens")
    nevents, ntokens = #events, #tokens
    assert(nevents > 0 and ntokens > 0, "seed file has no events or tokens")
    if opt.mix == "reads" then
        write_pct = 0
    elseif opt.mix == "writes" then
        write_pct = 100
    end
    if opt.mode == "paced" then
        paced = true
        pace_ms = tonumber(opt.pace_ms or "60") or 60
        mode_text = "paced, ~" .. pace_ms .. " ms between requests per connection"
    end
    if write_pct ~= 30 then
        mode_text = mode_text .. ", mix=" .. opt.mix
    end
    make_seat_tokens()
    if write_pct > 0 then
        for i = 1, HOLD_POOL do holds[i] = format_hold() end
    end
    local rh = { ["Accept-Encoding"] = "gzip" }
    reqs.list = wrk.format("GET", "/api/v1/events", rh)
    reqs.event, reqs.seats = {}, {}
    for i, id in ipairs(events) do
        reqs.event[i] = wrk.format("GET", "/api/v1/events/" .. id, rh)
        reqs.seats[i] = wrk.format("GET", "/api/v1/events/" .. id .. "/seats?view=compact", rh)
    end
end

local function hold_request()
    n_hold = n_hold + 1
    return holds[math.random(HOLD_POOL)]
end

local function release_request()
    local h = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    n_release = n_release + 1
    return wrk.format("DELETE", "/api/v1/holds/" .. h[1], {
        ["Authorization"] = "Bearer " .. h[2],
    })
end

function request()
    local r = math.random(100)
    if write_pct == 0 then
        r = math.random(70)                   -- the reads, in their proportions
    elseif write_pct == 100 then
        r = 100
    end
    if r <= 30 then
        n_list = n_list + 1
        return reqs.list
    elseif r <= 50 then
        n_event = n_event + 1
        return reqs.event[math.random(nevents)]
    elseif r <= 70 then
        n_seats = n_seats + 1
        return reqs.seats[math.random(nevents)]
    elseif qhead <= qtail then
        return release_request()
    else
        return hold_request()
    end
end

function response(status, headers, body)
    if status >= 200 and status < 300 then
        s2xx = s2xx + 1
        if status == 200 then
            s200 = s200 + 1
        elseif status == 201 then
            s201 = s201 + 1
            local id, seat = body:match('"id":"([^"]+)".-"seats":%["([^"]+)"')
            local tok = seat and seat_token[seat]
            if tok then
                qtail = qtail + 1
                queue[qtail] = { id, tok }
                holds_queued = holds_queued + 1
            end
        elseif status == 204 then
            s204 = s204 + 1
        end
    elseif status == 409 then
        s409 = s409 + 1
    else
        sother = sother + 1
        if status >= 500 then s5xx = s5xx + 1 end
        if status == 404 then s404 = s404 + 1 end
        if not other_seen[status] then
            other_seen[status] = true
            -- keep the first body of each unexpected status for the report
            local snippet = (body or ""):sub(1, 200):gsub("[\r\n]", " ")
            other_codes = other_codes .. status .. ": " .. snippet .. "\n"
        end
    end
end

function delay()
    if paced then
        return math.floor(pace_ms * (0.9 + 0.2 * math.random()))
    end
    return 0
end

-- --- report (main Lua state) ------------------------------------------

local function ms(us)
    return string.format("%.2f ms", us / 1000)
end

function done(summary, latency, requests)
    local t = { n_list = 0, n_event = 0, n_seats = 0, n_hold = 0, n_release = 0,
                s2xx = 0, s409 = 0, sother = 0, s5xx = 0, s200 = 0, s201 = 0,
                s204 = 0, s404 = 0 }
    local others = ""
    for _, th in ipairs(threads) do
        for k, _ in pairs(t) do
            t[k] = t[k] + (tonumber(th:get(k)) or 0)
        end
        others = others .. (th:get("other_codes") or "")
    end
    local secs = summary.duration / 1e6
    local e = summary.errors
    io.write("\n==== tixin bench result ====\n")
    io.write(string.format("mode:          %s\n", threads[1] and threads[1]:get("mode_text") or "?"))
    io.write(string.format("duration:      %.1f s\n", secs))
    io.write(string.format("requests:      %d\n", summary.requests))
    io.write(string.format("req/s:         %.0f\n", summary.requests / secs))
    io.write(string.format("latency:       p50 %s   p90 %s   p99 %s   max %s   (mean %s)\n",
        ms(latency:percentile(50)), ms(latency:percentile(90)),
        ms(latency:percentile(99)), ms(latency.max), ms(latency.mean)))
    io.write(string.format("status:        2xx %d   409 %d   other %d   (5xx %d, 404 %d)\n",
        t.s2xx, t.s409, t.sother, t.s5xx, t.s404))
    io.write(string.format("  by code:     200 %d   201 (holds) %d   204 (releases) %d\n",
        t.s200, t.s201, t.s204))
    io.write(string.format("sent:          list %d   event %d   seats %d   hold %d   release %d\n",
        t.n_list, t.n_event, t.n_seats, t.n_hold, t.n_release))
    io.write(string.format("socket errors: connect %d   read %d   write %d   timeout %d\n",
        e.connect, e.read, e.write, e.timeout))
    if others ~= "" then
        io.write("first body of each unexpected status:\n" .. others)
    end
    -- machine-readable line for bench/run
    io.write(string.format("BENCH_RESULT rps=%.0f p50_us=%d p90_us=%d p99_us=%d s2xx=%d s409=%d sother=%d s5xx=%d e_connect=%d e_read=%d e_write=%d e_timeout=%d\n",
        summary.requests / secs, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), t.s2xx, t.s409, t.sother, t.s5xx,
        e.connect, e.read, e.write, e.timeout))
end
