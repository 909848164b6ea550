/* SPDX-License-Identifier: MIT */
/*
 * agentrt._claim - the claim table shared by agentrt.Executor and its
 * workers (docs/python.md, "Calls sent ahead").
 *
 * The executor sends a worker calls ahead of the one it runs, so that the
 * worker never waits for the executor between calls. A call sent ahead
 * must still be cancellable without killing the worker, and movable to a
 * worker that falls idle. Both sides may act on it at the same moment: the
 * worker starting it, the executor withdrawing it. One compare-and-swap on
 * a word in shared memory decides who wins, so a call runs at most once and
 * the executor always knows whether it started.
 *
 * Each slot is two 64-bit words: (generation << 8 | state), and the
 * CLOCK_MONOTONIC time at which the worker started the call (for per-call
 * timeouts, which count from the start). The generation changes each time
 * the executor reuses the slot, so a stale request naming an old
 * generation can match nothing.
 *
 *   state     | worker                     | executor
 *   ----------+----------------------------+----------------------------
 *   OFFERED   | claim -> RUNNING           | withdraw -> WITHDRAWN
 *   RUNNING   | finish -> DONE             | stop -> STOPPED (then kills it)
 *   DONE      | (sends the reply)          | -
 *   WITHDRAWN | skips the call             | (requeued, or cancelled)
 *   STOPPED   | exits at once              | -
 *
 * A worker whose finish fails exits without claiming its next call, so a
 * stopped worker never starts anything the executor then requeues.
 *
 * The table is a memfd the executor creates and passes to each worker over
 * its socket (SCM_RIGHTS); both map it with Table(fd, slots). The worker
 * loads this module by file name, without the agentrt package.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

enum { OFFERED = 1, RUNNING, DONE, WITHDRAWN, STOPPED };

typedef struct {
	PyObject_HEAD
	_Atomic uint64_t *words;
	Py_ssize_t slots;
} Table;

static uint64_t word_of(uint64_t gen, int state)
{
	return gen << 8 | (uint64_t)state;
}

static int table_init(Table *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "fd", "slots", NULL };
	int fd;
	Py_ssize_t slots;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "in", names, &fd, &slots))
		return -1;
	if (self->words) {
		PyErr_SetString(PyExc_RuntimeError, "Table: already mapped");
		return -1;
	}
	if (slots <= 0 || (size_t)slots > SIZE_MAX / 16) {
		PyErr_SetString(PyExc_ValueError, "Table: slots must be > 0");
		return -1;
	}
	void *p = mmap(NULL, (size_t)slots * 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	self->words = p;
	self->slots = slots;
	return 0;
}

static void table_dealloc(Table *self)
{
	if (self->words)
		munmap((void *)self->words, (size_t)self->slots * 16);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* (slot, generation) from the arguments, checked against the table. */
static int slot_gen(Table *self, PyObject *const *args, Py_ssize_t n, Py_ssize_t *slot,
		    uint64_t *gen)
{
	if (n != 2) {
		PyErr_SetString(PyExc_TypeError, "expected (slot, generation)");
		return -1;
	}
	*slot = PyLong_AsSsize_t(args[0]);
	if (*slot == -1 && PyErr_Occurred())
		return -1;
	*gen = PyLong_AsUnsignedLongLong(args[1]);
	if (*gen == (uint64_t)-1 && PyErr_Occurred())
		return -1;
	if (!self->words || *slot < 0 || *slot >= self->slots || *gen >> 56) {
		PyErr_SetString(PyExc_IndexError, "claim table: no such slot or generation");
		return -1;
	}
	return 0;
}

static PyObject *swap(Table *self, PyObject *const *args, Py_ssize_t n, int from, int to,
		      int stamp)
{
	Py_ssize_t slot;
	uint64_t gen;
	if (slot_gen(self, args, n, &slot, &gen) < 0)
		return NULL;
	if (stamp) {
		/* Written before the swap, which publishes it (seq_cst). */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		atomic_store_explicit(&self->words[2 * slot + 1],
				      (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
				      memory_order_relaxed);
	}
	uint64_t expect = word_of(gen, from);
	return PyBool_FromLong(atomic_compare_exchange_strong(&self->words[2 * slot], &expect,
							     word_of(gen, to)));
}

static PyObject *table_claim(Table *self, PyObject *const *args, Py_ssize_t n)
{
	return swap(self, args, n, OFFERED, RUNNING, 1);
}

static PyObject *table_finish(Table *self, PyObject *const *args, Py_ssize_t n)
{
	return swap(self, args, n, RUNNING, DONE, 0);
}

static PyObject *table_withdraw(Table *self, PyObject *const *args, Py_ssize_t n)
{
	return swap(self, args, n, OFFERED, WITHDRAWN, 0);
}

static PyObject *table_stop(Table *self, PyObject *const *args, Py_ssize_t n)
{
	return swap(self, args, n, RUNNING, STOPPED, 0);
}

static PyObject *table_offer(Table *self, PyObject *const *args, Py_ssize_t n)
{
	Py_ssize_t slot;
	uint64_t gen;
	if (slot_gen(self, args, n, &slot, &gen) < 0)
		return NULL;
	atomic_store(&self->words[2 * slot], word_of(gen, OFFERED));
	Py_RETURN_NONE;
}

/* state(slot, gen) -> the state, or 0 when the slot holds another generation. */
static PyObject *table_state(Table *self, PyObject *const *args, Py_ssize_t n)
{
	Py_ssize_t slot;
	uint64_t gen;
	if (slot_gen(self, args, n, &slot, &gen) < 0)
		return NULL;
	uint64_t w = atomic_load(&self->words[2 * slot]);
	return PyLong_FromLong(w >> 8 == gen ? (long)(w & 0xff) : 0);
}

/* started(slot) -> CLOCK_MONOTONIC seconds at which the slot's call was
 * claimed (meaningful once state() says RUNNING or later). */
static PyObject *table_started(Table *self, PyObject *arg)
{
	Py_ssize_t slot = PyLong_AsSsize_t(arg);
	if (slot == -1 && PyErr_Occurred())
		return NULL;
	if (!self->words || slot < 0 || slot >= self->slots) {
		PyErr_SetString(PyExc_IndexError, "claim table: no such slot");
		return NULL;
	}
	/* Acquire: pairs with the claim's seq_cst swap, read after state(). */
	uint64_t ns = atomic_load_explicit(&self->words[2 * slot + 1], memory_order_acquire);
	return PyFloat_FromDouble((double)ns / 1e9);
}

static PyMethodDef table_methods[] = {
	{ "claim", (PyCFunction)(void (*)(void))table_claim, METH_FASTCALL,
	  "claim(slot, gen) -> bool: worker: OFFERED -> RUNNING, stamping the start time" },
	{ "finish", (PyCFunction)(void (*)(void))table_finish, METH_FASTCALL,
	  "finish(slot, gen) -> bool: worker: RUNNING -> DONE" },
	{ "offer", (PyCFunction)(void (*)(void))table_offer, METH_FASTCALL,
	  "offer(slot, gen): executor: the slot now holds a call sent ahead" },
	{ "withdraw", (PyCFunction)(void (*)(void))table_withdraw, METH_FASTCALL,
	  "withdraw(slot, gen) -> bool: executor: OFFERED -> WITHDRAWN" },
	{ "stop", (PyCFunction)(void (*)(void))table_stop, METH_FASTCALL,
	  "stop(slot, gen) -> bool: executor: RUNNING -> STOPPED" },
	{ "state", (PyCFunction)(void (*)(void))table_state, METH_FASTCALL,
	  "state(slot, gen) -> int: the state, 0 for another generation" },
	{ "started", (PyCFunction)table_started, METH_O,
	  "started(slot) -> float: CLOCK_MONOTONIC seconds of the claim" },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject TableType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentrt._claim.Table",
	.tp_basicsize = sizeof(Table),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Table(fd, slots): the claim table mapped from a memfd of slots * 16 bytes",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)table_init,
	.tp_dealloc = (destructor)table_dealloc,
	.tp_methods = table_methods,
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "agentrt._claim",
	.m_doc = "The claim table of agentrt.Executor's calls sent ahead.",
	.m_size = -1,
};

PyMODINIT_FUNC PyInit__claim(void);
PyMODINIT_FUNC PyInit__claim(void)
{
	if (PyType_Ready(&TableType) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	if (PyModule_AddIntConstant(m, "OFFERED", OFFERED) < 0 ||
	    PyModule_AddIntConstant(m, "RUNNING", RUNNING) < 0 ||
	    PyModule_AddIntConstant(m, "DONE", DONE) < 0 ||
	    PyModule_AddIntConstant(m, "WITHDRAWN", WITHDRAWN) < 0 ||
	    PyModule_AddIntConstant(m, "STOPPED", STOPPED) < 0 ||
	    PyModule_AddIntConstant(m, "SLOT_BYTES", 16) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	Py_INCREF(&TableType);
	if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
		Py_DECREF(&TableType);
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
