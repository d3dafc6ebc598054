/*
 * The `stc` VapourSynth namespace. VapourSynth's Python module cannot register a plugin
 * namespace, so this small native plugin does: it registers core.stc.Restore / Deflicker and
 * forwards every call to the vs_stc Python package through a VSFunction handler.
 *
 * The handler registers itself (core.stc.RegisterHandler) when vs_stc.vapoursynth_plugin.bridge is
 * imported. When a script calls a public function before that, the plugin imports the package
 * itself in the interpreter that runs VapourSynth (found with dlsym), so scripts need no import.
 *
 * The public functions take "clip:vnode;any", as std.SetFrameProps does: every other argument goes
 * through untouched and the Python side alone defines, checks and documents them. The handler
 * returns the clip under "val", or the message of a user's mistake under "stc_error" (raised here
 * as is, so it reads "Restore: ..." without the Python traceback VapourSynth would add).
 *
 * The plugin does not link libpython (it finds the interpreter's symbols at run time), so one
 * build serves every Python version; the vs-stc wheel ships it as vapoursynth/plugins/libvsstc.so.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "VapourSynth4.h"

#define PLUGIN_ID "com.vs-stc.stc"
#define IMPORT_STATEMENT "import vs_stc.vapoursynth_plugin.bridge as _stc_bridge\n_stc_bridge.register()\n"

typedef int (*PyIsInitializedFn)(void);
typedef int (*PyGILStateEnsureFn)(void);
typedef void (*PyGILStateReleaseFn)(int);
typedef int (*PyRunSimpleStringFn)(const char *);

typedef struct {
    pthread_mutex_t lock;
    VSFunction *handler;
} BridgeState;

typedef struct {
    BridgeState *state;
    const char *name;
} PublicFunction;

static int import_python_package(char *why, size_t why_size) {
    PyIsInitializedFn is_initialized = (PyIsInitializedFn)dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    PyGILStateEnsureFn ensure = (PyGILStateEnsureFn)dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
    PyGILStateReleaseFn release = (PyGILStateReleaseFn)dlsym(RTLD_DEFAULT, "PyGILState_Release");
    PyRunSimpleStringFn run = (PyRunSimpleStringFn)dlsym(RTLD_DEFAULT, "PyRun_SimpleString");
    if (!is_initialized || !ensure || !release || !run || !is_initialized()) {
        snprintf(why, why_size, "no Python interpreter in this process; run the script with vspipe or from Python");
        return 0;
    }
    int gil = ensure();
    int failed = run(IMPORT_STATEMENT);
    release(gil);
    if (failed) {
        snprintf(why, why_size, "importing vs_stc failed (traceback on stderr); install vs-stc into the Python "
                                "that runs VapourSynth: pip install vs-stc");
        return 0;
    }
    return 1;
}

static VSFunction *current_handler(BridgeState *state, const VSAPI *vsapi) {
    pthread_mutex_lock(&state->lock);
    VSFunction *handler = state->handler ? vsapi->addFunctionRef(state->handler) : NULL;
    pthread_mutex_unlock(&state->lock);
    return handler;
}

static void VS_CC forward(const VSMap *in, VSMap *out, void *userData, VSCore *core, const VSAPI *vsapi) {
    PublicFunction *function = (PublicFunction *)userData;
    char message[512];
    VSFunction *handler = current_handler(function->state, vsapi);
    if (!handler) {
        char why[384] = "";
        if (import_python_package(why, sizeof why))
            handler = current_handler(function->state, vsapi);
        if (!handler) {
            snprintf(message, sizeof message, "%s: %s", function->name,
                     why[0] ? why : "vs_stc did not register its handler");
            vsapi->mapSetError(out, message);
            return;
        }
    }
    VSMap *args = vsapi->createMap();
    VSMap *result = vsapi->createMap();
    vsapi->copyMap(in, args);
    vsapi->mapSetData(args, "stc_function", function->name, -1, dtUtf8, maReplace);
    vsapi->callFunction(handler, args, result);
    const char *error = vsapi->mapGetError(result);
    int no_message = 0;
    const char *user_error = vsapi->mapGetData(result, "stc_error", 0, &no_message);
    if (error) {
        vsapi->mapSetError(out, error);
    } else if (!no_message) {
        vsapi->mapSetError(out, user_error);
    } else {
        int missing = 0;
        VSNode *node = vsapi->mapGetNode(result, "val", 0, &missing);
        if (missing) {
            snprintf(message, sizeof message, "%s: the vs_stc handler returned no clip", function->name);
            vsapi->mapSetError(out, message);
        } else {
            vsapi->mapConsumeNode(out, "clip", node, maReplace);
        }
    }
    vsapi->freeMap(result);
    vsapi->freeMap(args);
    vsapi->freeFunction(handler);
}

static void VS_CC register_handler(const VSMap *in, VSMap *out, void *userData, VSCore *core, const VSAPI *vsapi) {
    BridgeState *state = (BridgeState *)userData;
    VSFunction *handler = vsapi->mapGetFunction(in, "func", 0, NULL);
    pthread_mutex_lock(&state->lock);
    VSFunction *previous = state->handler;
    state->handler = handler;
    pthread_mutex_unlock(&state->lock);
    if (previous)
        vsapi->freeFunction(previous);
}

/* The clip, then anything: Python owns the rest of the signature (see vs_stc.vapoursynth_plugin.api). */
static const char *PUBLIC_ARGS = "clip:vnode;any";

static PublicFunction *public_function(BridgeState *state, const char *name) {
    PublicFunction *function = (PublicFunction *)malloc(sizeof(PublicFunction));
    function->state = state;
    function->name = name;
    return function;
}

/* Called once per core; the state (and the handler it holds) lives as long as the process. */
VS_EXTERNAL_API(void) VapourSynthPluginInit2(VSPlugin *plugin, const VSPLUGINAPI *vspapi) {
    BridgeState *state = (BridgeState *)calloc(1, sizeof(BridgeState));
    pthread_mutex_init(&state->lock, NULL);
    vspapi->configPlugin(PLUGIN_ID, "stc", "STC video face enhancement (vs-stc)", VS_MAKE_VERSION(0, 1),
                         VAPOURSYNTH_API_VERSION, 0, plugin);
    vspapi->registerFunction("Restore", PUBLIC_ARGS, "clip:vnode;", forward, public_function(state, "Restore"), plugin);
    vspapi->registerFunction("Deflicker", PUBLIC_ARGS, "clip:vnode;", forward, public_function(state, "Deflicker"),
                             plugin);
    vspapi->registerFunction("RegisterHandler", "func:func;", "", register_handler, state, plugin);
}
