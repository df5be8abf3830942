-- POST from a pool of prepared requests, one line each: path TAB headers TAB body, where
-- headers are "Name: value" pairs joined by "|". Each thread takes every n-th line, so
-- no two requests share a line until the pool wraps. Args: <pool file> <threads>.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[2])
  pool = {}
  for line in io.lines(args[1]) do
    local path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for pair in headers:gmatch("[^|]+") do
      local name, value = pair:match("^([^:]+):%s*(.*)$")
      h[name] = value
    end
    table.insert(pool, {path = path, headers = h, body = body})
  end
  issued = 0
  ok = 0
  bad = 0
end

function request()
  local index = tid + issued * nthreads
  issued = issued + 1
  local item = pool[((index - 1) % #pool) + 1]
  return wrk.format("POST", item.path, item.headers, item.body)
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
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d, "issued": %d, "ok": %d, "bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    issued_total, ok_total, bad_total))
end
