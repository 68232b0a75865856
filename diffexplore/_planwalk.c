/* Transform/evaluate: the planning walk of diffexplore.plan, compiled.
 *
 * walk() is the same walk as plan._walk_in_python, step for step, and returns the same lists: one
 * depth-first walk, arguments left to right, each node numbered when its arguments are, its operation and
 * chain-rule terms written down at once. The rule table's facts, the terms and the attribute-binding of
 * an implementation still come from the Python functions it is handed; only the bookkeeping of the walk
 * (the stack, the slots, which nodes are active) is done here: nodes are found by address in a table of
 * the walk's own (the plan makes its node -> slot dict from the order when it is asked for), and a
 * node's fields are read straight from its __slots__. tests/test_plan_walk.py checks that both walks
 * give equal plans on graphs drawn from the whole rule table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"

static PyObject *s_args, *s_rule, *s_attr, *s_value, *s_shape, *s_impl;

/* An operation being walked: its arguments, the next one to meet, and the slots of its first two
 * arguments once they are numbered. */
typedef struct {
    PyObject *node;          /* borrowed: held by the parent's argument tuple (or by the roots) */
    PyObject *args;          /* a new reference */
    Py_ssize_t next;
    Py_ssize_t slots[2];
} Frame;

/* The slots of the nodes numbered so far, by address (open addressing; nodes outlive the walk). */
typedef struct {
    PyObject **keys;         /* borrowed; NULL: empty */
    Py_ssize_t *slots;
    size_t mask;             /* capacity - 1, a power of two */
    Py_ssize_t used;
} Table;

/* What the walk is handed, what it makes, and its stack. */
typedef struct {
    /* handed */
    PyObject *var_rule, *const_rule, *wrt, *rule_facts, *bind_attr, *make_terms, *not_yet, *many;
    int evaluation;
    PyTypeObject *node_type;                                /* Node: its fields are read at these offsets */
    Py_ssize_t args_at, rule_at, attr_at, shape_at;        /* (-1: through getattr) */
    /* made */
    PyObject *order, *constants, *variable_slots, *variable_names, *ops, *terms, *absorbing;
    PyObject *facts, *shared;                              /* per walk: rule -> facts; array terms by key */
    PyObject *last_rule, *last_facts;                      /* borrowed from facts */
    Table numbered;
    char *active;            /* per slot: whether the node is active */
    PyObject **ints;         /* per slot: the slot as an int (owned) */
    Py_ssize_t count, slot_capacity;
    /* the stack */
    Frame *frames;
    Py_ssize_t size, capacity;
} Walk;

/* The offset of a __slots__ field of type, or -1. */
static Py_ssize_t slot_offset(PyTypeObject *type, PyObject *name) {
    PyObject *descriptor = PyObject_GetAttr((PyObject *)type, name);
    Py_ssize_t offset = -1;
    if (descriptor == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(descriptor, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READ_RESTRICTED))
            offset = member->offset;
    }
    Py_DECREF(descriptor);
    return offset;
}

/* node.<name>, a new reference: read from the slot when node is a Node, else through getattr. */
static PyObject *field(const Walk *w, PyObject *node, Py_ssize_t offset, PyObject *name) {
    if (offset >= 0 && Py_TYPE(node) == w->node_type) {
        PyObject *value = *(PyObject **)((char *)node + offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(node, name);
}

static int push_frame(Walk *w, PyObject *node, PyObject *args) {
    if (w->size == w->capacity) {
        Py_ssize_t capacity = w->capacity ? 2 * w->capacity : 64;
        Frame *frames = PyMem_Realloc(w->frames, capacity * sizeof(Frame));
        if (frames == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->frames = frames;
        w->capacity = capacity;
    }
    Frame *frame = &w->frames[w->size++];
    frame->node = node;
    frame->args = args;      /* the reference is the stack's now */
    frame->next = 0;
    frame->slots[0] = frame->slots[1] = -1;
    return 0;
}

static size_t address_hash(PyObject *key) {
    return ((size_t)key >> 4) * (size_t)0x9E3779B97F4A7C15ULL;
}

/* The slot of a node already numbered, or -1. */
static Py_ssize_t find(const Table *t, PyObject *key) {
    if (t->keys == NULL)
        return -1;
    for (size_t at = address_hash(key) & t->mask;; at = (at + 1) & t->mask) {
        if (t->keys[at] == key)
            return t->slots[at];
        if (t->keys[at] == NULL)
            return -1;
    }
}

static void put(Table *t, PyObject *key, Py_ssize_t slot) {
    size_t at = address_hash(key) & t->mask;
    while (t->keys[at] != NULL)
        at = (at + 1) & t->mask;
    t->keys[at] = key;
    t->slots[at] = slot;
}

/* Add a node not yet in the table (grown to stay at most half full). */
static int add(Table *t, PyObject *key, Py_ssize_t slot) {
    size_t capacity = t->keys ? t->mask + 1 : 0;
    if (2 * (size_t)(t->used + 1) > capacity) {
        capacity = capacity ? 2 * capacity : 1024;
        Table grown = {PyMem_Calloc(capacity, sizeof(PyObject *)), PyMem_Malloc(capacity * sizeof(Py_ssize_t)),
                       capacity - 1, t->used};
        if (grown.keys == NULL || grown.slots == NULL) {
            PyMem_Free(grown.keys);
            PyMem_Free(grown.slots);
            PyErr_NoMemory();
            return -1;
        }
        for (size_t j = 0; t->keys && j <= t->mask; j++)
            if (t->keys[j] != NULL)
                put(&grown, t->keys[j], t->slots[j]);
        PyMem_Free(t->keys);
        PyMem_Free(t->slots);
        *t = grown;
    }
    put(t, key, slot);
    t->used++;
    return 0;
}

/* None when an argument has the operation's shape, else the argument's shape (a new reference). */
static PyObject *broadcast_shape(const Walk *w, PyObject *argument, PyObject *shape) {
    PyObject *arg_shape = field(w, argument, w->shape_at, s_shape);
    if (arg_shape == NULL)
        return NULL;
    int same = PyObject_RichCompareBool(arg_shape, shape, Py_EQ);
    if (same < 0) {
        Py_DECREF(arg_shape);
        return NULL;
    }
    if (same) {
        Py_DECREF(arg_shape);
        Py_RETURN_NONE;
    }
    return arg_shape;
}

/* make_terms(template, node, actives) for an operation of one argument (activity (True,)) or two
 * (activity code k: (k & 1, k & 2)), a new reference. */
static PyObject *call_make_terms(const Walk *w, PyObject *template, PyObject *node, int binary, long k) {
    PyObject *actives = binary ? Py_BuildValue("(ll)", k & 1, k & 2) : PyTuple_Pack(1, Py_True);
    if (actives == NULL)
        return NULL;
    PyObject *made = PyObject_CallFunctionObjArgs(w->make_terms, template, node, actives, NULL);
    Py_DECREF(actives);
    return made;
}

/* The terms of an array operation, shared by the operations with the same key (rule, activity and
 * broadcasting): a new reference. key is stolen. */
static PyObject *shared_terms(Walk *w, PyObject *key, PyObject *template, PyObject *node, int binary, long k) {
    if (key == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(w->shared, key);
    if (found != NULL) {
        Py_INCREF(found);
    } else if (!PyErr_Occurred()) {
        found = call_make_terms(w, template, node, binary, k);
        if (found != NULL && PyDict_SetItem(w->shared, key, found) < 0)
            Py_CLEAR(found);
    }
    Py_DECREF(key);
    return found;
}

/* The terms of a scalar operation: by_activity[k], made (and kept there) on first need; a new reference. */
static PyObject *terms_by_activity(const Walk *w, PyObject *by_activity, long k, PyObject *template,
                                   PyObject *node, int binary) {
    PyObject *found = PyList_GetItem(by_activity, k);
    if (found == NULL)
        return NULL;
    if (found != w->not_yet) {
        Py_INCREF(found);
        return found;
    }
    found = call_make_terms(w, template, node, binary, k);
    if (found == NULL)
        return NULL;
    Py_INCREF(found);
    if (PyList_SetItem(by_activity, k, found) < 0) {   /* steals one reference */
        Py_DECREF(found);
        return NULL;
    }
    return found;
}

/* Number a leaf: a variable's slot (active when wrt is None or holds its name), a constant's value. */
static int number_leaf(Walk *w, PyObject *leaf, Py_ssize_t i) {
    PyObject *slot = w->ints[i];
    PyObject *rule = field(w, leaf, w->rule_at, s_rule);
    if (rule == NULL)
        return -1;
    int active = 0, status = -1;
    if (rule == w->var_rule) {
        PyObject *attr = field(w, leaf, w->attr_at, s_attr);
        if (attr == NULL)
            goto done;
        PyObject *name = PySequence_GetItem(attr, 0);
        Py_DECREF(attr);
        if (name == NULL)
            goto done;
        active = w->wrt == Py_None ? 1 : PySequence_Contains(w->wrt, name);
        int failed = active < 0 || PyList_Append(w->variable_slots, slot) < 0 ||
                     PyList_Append(w->variable_names, name) < 0;
        Py_DECREF(name);
        if (failed)
            goto done;
    } else if (rule == w->const_rule) {
        PyObject *value = PyObject_GetAttr(leaf, s_value);
        if (value == NULL)
            goto done;
        PyObject *pair = PyTuple_Pack(2, slot, value);
        Py_DECREF(value);
        if (pair == NULL)
            goto done;
        int appended = PyList_Append(w->constants, pair);
        Py_DECREF(pair);
        if (appended < 0)
            goto done;
    }
    w->active[i] = (char)active;
    status = 0;
done:
    Py_DECREF(rule);
    return status;
}

/* The facts of a rule (borrowed: w->facts keeps them), asked of rule_facts once per walk; the last
 * rule's are at hand without a look-up (operations alike often come one after another). */
static PyObject *facts_of(Walk *w, PyObject *rule) {
    if (rule == w->last_rule)
        return w->last_facts;
    PyObject *known = PyDict_GetItemWithError(w->facts, rule);
    if (known != NULL) {
        w->last_rule = rule;       /* both kept alive by w->facts */
        w->last_facts = known;
        return known;
    }
    if (PyErr_Occurred())
        return NULL;
    known = PyObject_CallFunctionObjArgs(w->rule_facts, rule, w->evaluation ? Py_True : Py_False, NULL);
    if (known == NULL)
        return NULL;
    int stored = PyDict_SetItem(w->facts, rule, known);
    Py_DECREF(known);
    if (stored < 0)
        return NULL;
    if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 5) {
        PyErr_SetString(PyExc_TypeError, "planning walk: a rule's facts must be a tuple of five");
        return NULL;
    }
    return known;
}

/* The operation's implementation, a new reference: the rule's, or bound to the node's attribute. */
static PyObject *implementation(const Walk *w, PyObject *impl, PyObject *rule, PyObject *node) {
    if (impl != Py_None || !w->evaluation) {
        Py_INCREF(impl);
        return impl;
    }
    PyObject *rule_impl = PyObject_GetAttr(rule, s_impl);
    if (rule_impl == NULL)
        return NULL;
    PyObject *attr = field(w, node, w->attr_at, s_attr);
    if (attr == NULL) {
        Py_DECREF(rule_impl);
        return NULL;
    }
    PyObject *bound = PyObject_CallFunctionObjArgs(w->bind_attr, rule_impl, attr, NULL);
    Py_DECREF(rule_impl);
    Py_DECREF(attr);
    return bound;
}

/* An Op: (impl, first, second, slot), a new reference. */
static PyObject *op_tuple(PyObject *impl, PyObject *first, PyObject *second, PyObject *slot) {
    PyObject *op = PyTuple_New(4);
    if (op == NULL)
        return NULL;
    PyTuple_SET_ITEM(op, 0, Py_NewRef(impl));
    PyTuple_SET_ITEM(op, 1, Py_NewRef(first));
    PyTuple_SET_ITEM(op, 2, Py_NewRef(second));
    PyTuple_SET_ITEM(op, 3, Py_NewRef(slot));
    return op;
}

/* Write down an operation whose arguments are numbered: its Op tuple, its terms, whether it is active. */
static int number_op(Walk *w, const Frame *frame, Py_ssize_t i) {
    PyObject *node = frame->node, *args = frame->args, *slot = w->ints[i];
    PyObject *impl = NULL, *shape = NULL, *found = NULL, *op = NULL, *slots = NULL;
    int status = -1;
    PyObject *rule = field(w, node, w->rule_at, s_rule);
    if (rule == NULL)
        return -1;
    PyObject *known = facts_of(w, rule);
    if (known == NULL)
        goto done;
    PyObject *template = PyTuple_GET_ITEM(known, 0), *by_activity = PyTuple_GET_ITEM(known, 3);
    int absorbs = PyObject_IsTrue(PyTuple_GET_ITEM(known, 1));
    int binary = PyObject_IsTrue(PyTuple_GET_ITEM(known, 4));
    if (absorbs < 0 || binary < 0)
        goto done;
    impl = implementation(w, PyTuple_GET_ITEM(known, 2), rule, node);
    shape = field(w, node, w->shape_at, s_shape);
    if (impl == NULL || shape == NULL)
        goto done;
    int has_shape = PyObject_IsTrue(shape);
    if (has_shape < 0)
        goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (binary && n != 2) {
        PyErr_Format(PyExc_ValueError, "planning walk: an operation of a two-argument rule has %zd arguments", n);
        goto done;
    }
    if (binary || n == 1) {
        PyObject *first = w->ints[frame->slots[0]], *second = n == 2 ? w->ints[frame->slots[1]] : Py_None;
        op = op_tuple(impl, first, second, slot);
        if (op == NULL || PyList_Append(w->ops, op) < 0)
            goto done;
        if (absorbs && (PyList_Append(w->absorbing, first) < 0 ||
                        (n == 2 && PyList_Append(w->absorbing, second) < 0)))
            goto done;
        /* which arguments are active: 0 to 3 */
        long k = w->active[frame->slots[0]] + (n == 2 ? 2 * w->active[frame->slots[1]] : 0);
        w->active[i] = k > 0;
        if (has_shape && k && template != Py_None) {  /* arrays: broadcasting decides too */
            PyObject *a_shape = broadcast_shape(w, PyTuple_GET_ITEM(args, 0), shape), *b_shape = NULL;
            if (a_shape == NULL ||
                (n == 2 && (b_shape = broadcast_shape(w, PyTuple_GET_ITEM(args, 1), shape)) == NULL)) {
                Py_XDECREF(a_shape);
                goto done;
            }
            PyObject *key = n == 2 ? Py_BuildValue("(OlNN)", rule, k, a_shape, b_shape)
                                   : Py_BuildValue("(ON)", rule, a_shape);
            found = shared_terms(w, key, template, node, n == 2, k);
        } else {                                      /* scalars: the rule's own small table */
            found = terms_by_activity(w, by_activity, k, template, node, n == 2);
        }
    } else {                                          /* three or more arguments: their slots in a tuple */
        slots = PyTuple_New(n);
        if (slots == NULL)
            goto done;
        int any_active = 0;
        for (Py_ssize_t j = 0; j < n; j++) {
            Py_ssize_t argument = find(&w->numbered, PyTuple_GET_ITEM(args, j));
            if (argument < 0) {
                PyErr_SetString(PyExc_RuntimeError, "planning walk: an argument was not numbered");
                goto done;
            }
            PyTuple_SET_ITEM(slots, j, Py_NewRef(w->ints[argument]));
            any_active |= w->active[argument];
        }
        op = op_tuple(impl, slots, w->many, slot);
        if (op == NULL || PyList_Append(w->ops, op) < 0)
            goto done;
        for (Py_ssize_t j = 0; absorbs && j < n; j++)
            if (PyList_Append(w->absorbing, PyTuple_GET_ITEM(slots, j)) < 0)
                goto done;
        w->active[i] = (char)any_active;
        found = any_active ? Py_NewRef(Py_None) : PyTuple_New(0);
    }
    if (found == NULL || PyList_Append(w->terms, found) < 0)
        goto done;
    status = 0;
done:
    Py_DECREF(rule);
    Py_XDECREF(impl);
    Py_XDECREF(shape);
    Py_XDECREF(found);
    Py_XDECREF(op);
    Py_XDECREF(slots);
    return status;
}

/* Number the next node, slot i: in the table, the order and the per-slot arrays (its int made). */
static int number(Walk *w, PyObject *node, Py_ssize_t i) {
    if (i >= w->slot_capacity) {
        Py_ssize_t capacity = w->slot_capacity ? 2 * w->slot_capacity : 1024;
        char *active = PyMem_Realloc(w->active, capacity);
        if (active == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->active = active;
        PyObject **ints = PyMem_Realloc(w->ints, capacity * sizeof(PyObject *));
        if (ints == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->ints = ints;
        w->slot_capacity = capacity;
    }
    PyObject *slot = PyLong_FromSsize_t(i);
    if (slot == NULL)
        return -1;
    w->ints[i] = slot;                 /* owned by the walk until its end */
    w->active[i] = 0;
    w->count = i + 1;
    return add(&w->numbered, node, i) < 0 || PyList_Append(w->order, node) < 0 ? -1 : 0;
}

/* The walk itself; 0 when every node is numbered, -1 with an error set. */
static int run(Walk *w, PyObject *roots) {
    PyObject *root_tuple = PyList_AsTuple(roots);
    if (root_tuple == NULL || push_frame(w, NULL, root_tuple) < 0) {
        Py_XDECREF(root_tuple);
        return -1;
    }
    Py_ssize_t i = -1;                               /* the slot of the node numbered last */
    while (1) {
        Frame *frame = &w->frames[w->size - 1];
        int pushed = 0;
        while (!pushed && frame->next < PyTuple_GET_SIZE(frame->args)) {
            Py_ssize_t position = frame->next++;
            PyObject *argument = PyTuple_GET_ITEM(frame->args, position);
            Py_ssize_t slot = find(&w->numbered, argument);
            if (slot < 0) {
                PyObject *args = field(w, argument, w->args_at, s_args);
                if (args == NULL)
                    return -1;
                if (!PyTuple_Check(args)) {
                    Py_DECREF(args);
                    PyErr_SetString(PyExc_TypeError, "planning walk: a node's args must be a tuple");
                    return -1;
                }
                if (PyTuple_GET_SIZE(args) > 0) {    /* an operation: its arguments first */
                    if (push_frame(w, argument, args) < 0) {
                        Py_DECREF(args);
                        return -1;
                    }
                    pushed = 1;
                    continue;
                }
                Py_DECREF(args);
                slot = ++i;
                if (number(w, argument, i) < 0 || number_leaf(w, argument, i) < 0)
                    return -1;
            }
            if (position < 2)
                frame->slots[position] = slot;
        }
        if (pushed)
            continue;
        if (w->size == 1)                            /* the roots' own frame: every node is numbered */
            return 0;
        Frame done = w->frames[--w->size];           /* an operation whose arguments are all numbered */
        i++;
        int failed = number(w, done.node, i) < 0 || number_op(w, &done, i) < 0;
        Py_DECREF(done.args);
        if (failed)
            return -1;
        Frame *parent = &w->frames[w->size - 1];
        if (parent->next - 1 < 2)
            parent->slots[parent->next - 1] = i;
    }
}

/* The roots' slots, a new list. */
static PyObject *root_slots_of(const Walk *w, PyObject *roots) {
    Py_ssize_t n = PyList_GET_SIZE(roots);
    PyObject *slots = PyList_New(n);
    for (Py_ssize_t j = 0; slots != NULL && j < n; j++) {
        Py_ssize_t slot = find(&w->numbered, PyList_GET_ITEM(roots, j));
        PyList_SET_ITEM(slots, j, Py_NewRef(w->ints[slot]));
    }
    return slots;
}

PyDoc_STRVAR(walk_doc,
"walk(roots, var_rule, const_rule, wrt, evaluation, rule_facts, bind_attr, make_terms, not_yet, many,\n"
"     node_type)\n"
"--\n\n"
"The planning walk over the graph of ``roots`` (a list of nodes of ``node_type``): returns ``(order,\n"
"root_slots, active, constants, variable_slots, variable_names, ops, terms, absorbing)``, as plan._walk_in_python\n"
"does.");

static PyObject *walk(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 11) {
        PyErr_Format(PyExc_TypeError, "walk() takes 11 arguments (%zd given)", argc);
        return NULL;
    }
    if (!PyList_Check(argv[0]) || !PyType_Check(argv[10])) {
        PyErr_SetString(PyExc_TypeError, "walk(): the roots must be a list of nodes, node_type a type");
        return NULL;
    }
    Walk w = {0};
    w.var_rule = argv[1];
    w.const_rule = argv[2];
    w.wrt = argv[3];
    w.rule_facts = argv[5];
    w.bind_attr = argv[6];
    w.make_terms = argv[7];
    w.not_yet = argv[8];
    w.many = argv[9];
    w.node_type = (PyTypeObject *)argv[10];
    w.evaluation = PyObject_IsTrue(argv[4]);
    if (w.evaluation < 0)
        return NULL;
    w.args_at = slot_offset(w.node_type, s_args);
    w.rule_at = slot_offset(w.node_type, s_rule);
    w.attr_at = slot_offset(w.node_type, s_attr);
    w.shape_at = slot_offset(w.node_type, s_shape);
    PyObject *active = NULL, *root_slots = NULL, *result = NULL;
    w.order = PyList_New(0);
    w.constants = PyList_New(0);
    w.variable_slots = PyList_New(0);
    w.variable_names = PyList_New(0);
    w.ops = PyList_New(0);
    w.terms = PyList_New(0);
    w.absorbing = PyList_New(0);
    w.facts = PyDict_New();
    w.shared = PyDict_New();
    if (w.order && w.constants && w.variable_slots && w.variable_names && w.ops && w.terms && w.absorbing &&
        w.facts && w.shared && run(&w, argv[0]) == 0) {
        active = PyList_New(w.count);
        if (active != NULL) {
            for (Py_ssize_t j = 0; j < w.count; j++)
                PyList_SET_ITEM(active, j, Py_NewRef(w.active[j] ? Py_True : Py_False));
            root_slots = root_slots_of(&w, argv[0]);
            if (root_slots != NULL)
                result = PyTuple_Pack(9, w.order, root_slots, active, w.constants, w.variable_slots,
                                      w.variable_names, w.ops, w.terms, w.absorbing);
        }
    }
    for (Py_ssize_t j = 0; j < w.size; j++)
        Py_DECREF(w.frames[j].args);
    for (Py_ssize_t j = 0; j < w.count; j++)
        Py_DECREF(w.ints[j]);
    PyMem_Free(w.frames);
    PyMem_Free(w.active);
    PyMem_Free(w.ints);
    PyMem_Free(w.numbered.keys);
    PyMem_Free(w.numbered.slots);
    Py_XDECREF(w.order);
    Py_XDECREF(w.constants);
    Py_XDECREF(w.variable_slots);
    Py_XDECREF(w.variable_names);
    Py_XDECREF(w.ops);
    Py_XDECREF(w.terms);
    Py_XDECREF(w.absorbing);
    Py_XDECREF(w.facts);
    Py_XDECREF(w.shared);
    Py_XDECREF(active);
    Py_XDECREF(root_slots);
    return result;
}

static PyMethodDef methods[] = {
    {"walk", (PyCFunction)(void (*)(void))walk, METH_FASTCALL, walk_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_planwalk",
    "The planning walk of diffexplore.plan, compiled (plan._walk_in_python is the same walk in Python).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__planwalk(void) {
    if (!(s_args = PyUnicode_InternFromString("args")) || !(s_rule = PyUnicode_InternFromString("rule")) ||
        !(s_attr = PyUnicode_InternFromString("attr")) || !(s_value = PyUnicode_InternFromString("value")) ||
        !(s_shape = PyUnicode_InternFromString("shape")) || !(s_impl = PyUnicode_InternFromString("impl")))
        return NULL;
    return PyModule_Create(&module_def);
}
