/* qbind DB SQLFILE [RUNS]: like qtime, but a line "SQL\tv1\tv2..." binds v1.. as text (a value
   starting with '#' binds as an integer) to the statement's ? parameters, as sqlx does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite3.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
static void bind(sqlite3_stmt*s,char**v,int n){for(int i=0;i<n;i++){if(v[i][0]=='#')sqlite3_bind_int64(s,i+1,atoll(v[i]+1));else if(v[i][0]==0x7f)sqlite3_bind_double(s,i+1,atof(v[i]+1));else sqlite3_bind_text(s,i+1,v[i],-1,SQLITE_TRANSIENT);}}
int main(int argc,char**argv){
  sqlite3*db; if(sqlite3_open_v2(argv[1],&db,SQLITE_OPEN_READWRITE,0)){fprintf(stderr,"open\n");return 1;}
  int runs=argc>3?atoi(argv[3]):5; FILE*f=fopen(argv[2],"r"); static char line[65536];
  {char q[100];snprintf(q,100,"PRAGMA cache_size=%s",getenv("CACHE")?getenv("CACHE"):"-65536");sqlite3_exec(db,q,0,0,0);}
  while(fgets(line,sizeof line,f)){
    line[strcspn(line,"\n")]=0; if(!*line) continue;
    if(!strncmp(line,"--",2)){printf("\n%s\n",line);continue;}
    if(!strncmp(line,"!",1)){char*e=0;double t0=now();if(sqlite3_exec(db,line+1,0,0,&e))printf("ERR %s\n",e);printf("exec %.1f ms\n",now()-t0);continue;}
    char*v[64];int n=0;char*p=strchr(line,'\t');if(p){*p++=0;while(p&&n<64){v[n++]=p;p=strchr(p,'\t');if(p)*p++=0;}}
    static char eqp[70000]; snprintf(eqp,sizeof eqp,"EXPLAIN QUERY PLAN %s",line);
    sqlite3_stmt*s; if(sqlite3_prepare_v2(db,eqp,-1,&s,0)){printf("ERR %s\n",sqlite3_errmsg(db));continue;}
    bind(s,v,n);
    while(sqlite3_step(s)==SQLITE_ROW) printf("  plan: %s\n",sqlite3_column_text(s,3));
    sqlite3_finalize(s);
    double ts[100]; long rows=0; long long first=0;
    for(int r=0;r<runs;r++){ if(sqlite3_prepare_v3(db,line,-1,SQLITE_PREPARE_PERSISTENT,&s,0)){printf("ERR %s\n",sqlite3_errmsg(db));break;}
      bind(s,v,n); double t0=now(); rows=0; while(sqlite3_step(s)==SQLITE_ROW){ if(!rows) first=sqlite3_column_int64(s,0); rows++;} ts[r]=now()-t0; sqlite3_finalize(s);}
    qsort(ts,runs,sizeof(double),cmp);
    printf("  => median %.2f ms, min %.2f ms, %ld rows, first %lld (%d runs)\n",ts[runs/2],ts[0],rows,first,runs);
  }
  return 0;
}
