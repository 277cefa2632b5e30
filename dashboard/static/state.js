// The page's one mutable state, shared by the modules, and what it answers (an agent's name).

export const TOKEN_KEY = "oratio.dashboard.token";

export const state = {
  token: null,
  ws: null,
  lastSeq: null,
  backoff: 500,
  reconnectTimer: null,
  agents: new Map(),
  progress: new Map(),
  cards: new Map(),
  historyCursor: null,
  historySelected: null,
  audio: null,
  reloadTimers: new Map(),
};

export function agentName(id) {
  const agent = state.agents.get(id);
  return agent ? agent.name : id;
}
