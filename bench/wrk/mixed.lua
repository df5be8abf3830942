-- Mixed traffic from a pool of prepared requests, one per line:
--   METHOD TAB path TAB headers TAB body
-- where headers are "Name: value" pairs joined by "|". Each thread takes every n-th line,
-- so no two requests share a line until the pool wraps.
-- Args: <pool file> <threads> <requests per second in all, 0 for as many as possible>
-- [<first line>, 0-based: where an earlier run's requests ended].
-- With a rate, each thread spaces its requests (over all its connections) evenly; a
-- thread that falls behind does not catch up in a burst.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } kw_timespec;
  int clock_gettime(int clock_id, kw_timespec *tp);
]]
local clock = ffi.new("kw_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[2])
  local rate = tonumber(args[3] or "0")
  interval = 0
  if rate > 0 then
    interval = 1000 * nthreads / rate
  end
  next_slot = nil
  first = tonumber(args[4] or "0")
  pool = {}
  for line in io.lines(args[1]) do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for pair in headers:gmatch("[^|]+") do
      local name, value = pair:match("^([^:]+):%s*(.*)$")
      h[name] = value
    end
    if body == "" then
      body = nil
    end
    table.insert(pool, { method = method, path = path, headers = h, body = body })
  end
  issued = 0
  ok = 0
  bad = 0
end

function delay()
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  if next_slot == nil or next_slot < now then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return wait
end

function request()
  local index = first + tid + issued * nthreads
  issued = issued + 1
  local item = pool[((index - 1) % #pool) + 1]
  return wrk.format(item.method, item.path, item.headers, item.body)
end

function response(status, headers, body)
  if status >= 200 and status < 400 then
    ok = ok + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local issued_total, ok_total, bad_total = 0, 0, 0
  for _, t in ipairs(threads) do
    issued_total = issued_total + t:get("issued")
    ok_total = ok_total + t:get("ok")
    bad_total = bad_total + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "issued": %d, "ok": %d, ' ..
    '"bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status,
    e.timeout, issued_total, ok_total, bad_total))
end
