-- Argo CD health check for kuorum.io/DecentralizedSecret.
--
-- Laid out like Argo CD's resource_customizations/<group>/<kind>/ (health.lua,
-- health_test.yaml, testdata/), so it can be proposed upstream as is. Lua 5.1 (Argo CD
-- runs gopher-lua): no goto, no integer division, no bit operators.
--
--   Degraded     Degraded=True, or Ready=False or Distributed=False for a reason that
--                is not progress (e.g. a sealed manifest the operator refused while the
--                previous version still serves). Never Healthy, even while Ready=True.
--   Progressing  no status yet, observedGeneration behind metadata.generation, being
--                deleted, Ready=Unknown, or Ready=False while distributing/rotating.
--   Healthy      Ready=True and observedGeneration == metadata.generation, nothing else.

-- Ready=False reasons that mean "work in progress" (kuorum.models.Reason); any other
-- reason (NodesUnreachable, NotEnoughShares, BadShares, NodeKeyChanged, SourceNotFound,
-- InvalidSpec, ...) is a failure.
local progressReasons = {
  Distributing = true,
  Rotating = true,
  WaitingForNodes = true,
  Deleting = true,
}

local hs = {}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  local text = fallback
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    text = c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason .. ": " .. text
  end
  return text
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted: share nodes are destroying their shares"
  return hs
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile"
  return hs
end

local conditions = obj.status.conditions
local degraded = condition(conditions, "Degraded")
local ready = condition(conditions, "Ready")

-- Failures first: whatever else the status says, a degraded secret is not healthy.
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded, "Degraded")
  return hs
end

-- A change the operator refused (a sealed manifest for keys a node no longer has, an
-- already used version, a missing fromSecret) fails even while the old version serves.
local distributed = condition(conditions, "Distributed")
if distributed ~= nil and distributed.status == "False" and not progressReasons[distributed.reason] then
  hs.status = "Degraded"
  hs.message = describe(distributed, "Not distributed")
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. string.format("%d", generation)
  return hs
end

if ready ~= nil and ready.status == "False" then
  if ready.reason ~= nil and progressReasons[ready.reason] then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = describe(ready, "Not ready")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
