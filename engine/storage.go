package engine

import (
	"github.com/inceptionzoo/inception/internal/liveness"
	"github.com/inceptionzoo/inception/nn"
)

// assignStorage decides where every value lives: concat inputs written in
// place into the concat output, element-wise ops in place, and buffer
// slots shared between values whose lifetimes do not overlap.
func (c *compiler) assignStorage(plan []planItem) {
	g := c.g
	nodes := len(g.Nodes)
	// Concat aliasing, outermost first (reverse topological order).
	type alias struct {
		parent int // concat node
		off    int
	}
	into := make([]*alias, nodes)
	producer := map[int]planItem{}
	for _, pi := range plan {
		producer[pi.outID()] = pi
	}
	for i := len(plan) - 1; i >= 0; i-- {
		pi := plan[i]
		if _, ok := pi.node.Op.(nn.Concat); !ok {
			continue
		}
		off := 0
		for _, in := range pi.node.Inputs {
			src, ok := producer[in]
			canWrite := false
			if ok && len(c.cons[in]) == 1 && c.view[in] == in {
				switch src.node.Op.(type) {
				case nn.Conv, nn.MaxPool, nn.AvgPool, nn.Concat:
					canWrite = true
				}
			}
			if canWrite {
				into[in] = &alias{parent: pi.node.ID, off: off}
			}
			off += g.Nodes[in].Out[0]
		}
	}
	// In-place element-wise ops: the output reuses the input's storage when
	// this op is the input's only reader.
	for _, pi := range plan {
		switch pi.node.Op.(type) {
		case nn.ReLU, nn.BatchNorm, nn.ChannelScale, nn.Affine:
			in := pi.node.Inputs[0]
			if in != 0 && len(c.cons[in]) == 1 && into[in] == nil && c.view[in] == in && into[pi.outID()] == nil {
				c.view[pi.outID()] = in
			}
		case nn.Add:
			r := pi.node.Inputs[1]
			if r != 0 && len(c.cons[r]) == 1 && into[r] == nil && c.view[r] == r && into[pi.outID()] == nil {
				c.view[pi.outID()] = r
			}
		}
	}
	// Resolve each value to a root storage: follow views and concat aliases.
	c.m.store = make([]storage, nodes)
	type rootInfo struct {
		id     int
		off, c int
	}
	var resolve func(id int) rootInfo
	resolve = func(id int) rootInfo {
		if id == 0 {
			return rootInfo{id: 0}
		}
		if v := c.view[id]; v != id {
			return resolve(v)
		}
		if a := into[id]; a != nil {
			p := resolve(a.parent)
			total := p.c
			if total == 0 {
				total = g.Nodes[a.parent].Out[0]
			}
			return rootInfo{id: p.id, off: p.off + a.off, c: total}
		}
		return rootInfo{id: id}
	}
	roots := make([]rootInfo, nodes)
	for i := range g.Nodes {
		roots[i] = resolve(i)
	}
	// Liveness of each root: from the first step writing it to the last
	// step reading it; model outputs live to the end.
	first := map[int]int{}
	last := map[int]int{}
	for si, pi := range plan {
		r := roots[pi.outID()].id
		if _, ok := first[r]; !ok {
			first[r] = si
		}
		last[r] = max(last[r], si)
		for _, x := range pi.chain {
			for _, in := range x.Inputs {
				rr := roots[in].id
				last[rr] = max(last[rr], si)
			}
		}
	}
	for _, o := range c.m.outputs {
		last[roots[o].id] = len(plan)
	}
	// Buffer slots by liveness (the planner the ONNX runner uses too).
	var vals []liveness.Value
	var rootOf []int
	for si, pi := range plan {
		r := roots[pi.outID()].id
		if r == 0 || first[r] != si {
			continue
		}
		vals = append(vals, liveness.Value{Size: g.Nodes[r].Out.Numel(), Def: si, Last: max(si, last[r])})
		rootOf = append(rootOf, r)
	}
	lp := liveness.Assign(vals)
	slotOf := make(map[int]int, len(rootOf))
	for k, r := range rootOf {
		slotOf[r] = lp.Buffer[k]
	}
	c.m.slotLen = lp.Sizes
	for i := range g.Nodes {
		r := roots[i]
		st := storage{slot: -1}
		if r.id != 0 {
			st.slot = slotOf[r.id]
			st.off, st.c = r.off, r.c
		}
		out := g.Nodes[i].Out
		if len(out) == 3 {
			st.hw = out[1] * out[2]
		}
		c.m.store[i] = st
	}
}
